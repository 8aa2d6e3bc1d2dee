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
///
/// Kept as libcurl's whole microseconds — exact, and cheap to store and fold at thousands of
/// results a second — and handed out as `Duration`s.
public struct PhaseTimings: Sendable, Equatable {
    /// Microseconds per phase, in `Phase` order; -1 for a phase not reached.
    private var phaseMicros: (Int64, Int64, Int64, Int64, Int64) = (-1, -1, -1, -1, -1)
    private var redirectMicros: Int64 = 0
    private var totalMicros: Int64 = 0

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

    public var resolve: Duration? { get { self[.resolve] } set { self[.resolve] = newValue } }
    public var connect: Duration? { get { self[.connect] } set { self[.connect] = newValue } }
    public var tls: Duration? { get { self[.tls] } set { self[.tls] = newValue } }
    public var processing: Duration? { get { self[.processing] } set { self[.processing] = newValue } }
    public var transfer: Duration? { get { self[.transfer] } set { self[.transfer] = newValue } }
    /// Time spent on redirects before the final request (zero without redirects).
    public var redirect: Duration {
        get { .microseconds(redirectMicros) }
        set { redirectMicros = newValue.inMicroseconds }
    }
    public var total: Duration {
        get { .microseconds(totalMicros) }
        set { totalMicros = newValue.inMicroseconds }
    }

    public subscript(phase: Phase) -> Duration? {
        get { microseconds(phase).map { .microseconds($0) } }
        set { setMicroseconds(phase, newValue.map { max(0, $0.inMicroseconds) }) }
    }

    /// The raw microseconds of a phase (the spool's and the fold's unit).
    func microseconds(_ phase: Phase) -> Int64? {
        let value: Int64
        switch phase {
        case .resolve: value = phaseMicros.0
        case .connect: value = phaseMicros.1
        case .tls: value = phaseMicros.2
        case .processing: value = phaseMicros.3
        case .transfer: value = phaseMicros.4
        }
        return value < 0 ? nil : value
    }

    mutating func setMicroseconds(_ phase: Phase, _ value: Int64?) {
        let stored = value ?? -1
        switch phase {
        case .resolve: phaseMicros.0 = stored
        case .connect: phaseMicros.1 = stored
        case .tls: phaseMicros.2 = stored
        case .processing: phaseMicros.3 = stored
        case .transfer: phaseMicros.4 = stored
        }
    }

    var totalMicroseconds: Int64 {
        get { totalMicros }
        set { totalMicros = newValue }
    }

    var redirectMicroseconds: Int64 {
        get { redirectMicros }
        set { redirectMicros = newValue }
    }

    public static func == (lhs: PhaseTimings, rhs: PhaseTimings) -> Bool {
        lhs.phaseMicros == rhs.phaseMicros && lhs.redirectMicros == rhs.redirectMicros && lhs.totalMicros == rhs.totalMicros
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
