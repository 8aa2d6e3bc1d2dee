/// The steps of a probe, in blackbox_exporter's names. One vocabulary for every place a phase
/// is shown or stored: JSON lines, Loki, metric labels, `/status` and the CLI table.
public enum Phase: String, Sendable, CaseIterable, Hashable {
    /// DNS lookup.
    case resolve
    /// TCP connect after the lookup.
    case connect
    /// TLS handshake (absent for plain HTTP).
    case tls
    /// Request sent → first response byte: the server's time.
    case processing
    /// First byte → last byte.
    case transfer
}

/// How long each phase of one probe took. A phase the probe never reached is nil, so a failed
/// probe still shows how far it got and how long each step took.
public struct PhaseTimings: Sendable, Equatable {
    public var resolve: Duration?
    public var connect: Duration?
    public var tls: Duration?
    public var processing: Duration?
    public var transfer: Duration?
    /// Time spent on redirects before the final request (zero without redirects).
    public var redirect: Duration
    public var total: Duration

    public init(
        resolve: Duration? = nil, connect: Duration? = nil, tls: Duration? = nil, processing: Duration? = nil,
        transfer: Duration? = nil, redirect: Duration = .zero, total: Duration
    ) {
        self.resolve = resolve
        self.connect = connect
        self.tls = tls
        self.processing = processing
        self.transfer = transfer
        self.redirect = redirect
        self.total = total
    }

    public subscript(phase: Phase) -> Duration? {
        get {
            switch phase {
            case .resolve: return resolve
            case .connect: return connect
            case .tls: return tls
            case .processing: return processing
            case .transfer: return transfer
            }
        }
        set {
            switch phase {
            case .resolve: resolve = newValue
            case .connect: connect = newValue
            case .tls: tls = newValue
            case .processing: processing = newValue
            case .transfer: transfer = newValue
            }
        }
    }

    /// The raw cumulative marks libcurl reports, from the start of the transfer. libcurl records
    /// a reached mark as at least 1 µs, so zero means "not reached".
    public struct Marks: Sendable, Equatable {
        public var nameLookup: Duration
        public var connect: Duration
        public var appConnect: Duration
        public var preTransfer: Duration
        public var startTransfer: Duration
        public var total: Duration
        public var redirect: Duration

        public init(
            nameLookup: Duration, connect: Duration, appConnect: Duration, preTransfer: Duration,
            startTransfer: Duration, total: Duration, redirect: Duration
        ) {
            self.nameLookup = nameLookup
            self.connect = connect
            self.appConnect = appConnect
            self.preTransfer = preTransfer
            self.startTransfer = startTransfer
            self.total = total
            self.redirect = redirect
        }
    }

    /// Splits libcurl's marks the way blackbox_exporter splits its trace: resolve = lookup,
    /// connect = connect − lookup, tls = appconnect − connect, processing = starttransfer −
    /// pretransfer, transfer = total − starttransfer.
    public init(marks: Marks) {
        func reached(_ end: Duration, since start: Duration) -> Duration? { end > .zero ? max(.zero, end - start) : nil }
        self.init(
            resolve: reached(marks.nameLookup, since: .zero),
            connect: reached(marks.connect, since: marks.nameLookup),
            tls: reached(marks.appConnect, since: marks.connect),
            processing: reached(marks.startTransfer, since: marks.preTransfer),
            transfer: marks.startTransfer > .zero ? max(.zero, marks.total - marks.startTransfer) : nil,
            redirect: marks.redirect, total: marks.total)
    }
}
