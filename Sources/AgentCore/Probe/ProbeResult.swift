/// What one probe of one endpoint found. Written to the spool and read by every output, so it
/// holds the facts (times in microseconds as libcurl reports them) and no presentation.
public struct ProbeResult: Sendable, Equatable {
    public var endpoint: String
    /// The probed URL without credentials.
    public var url: String
    public var method: String
    public var connection: ConnectionMode
    /// Wall-clock start, nanoseconds since the Unix epoch: the timestamp outputs stamp the result with.
    public var startedAt: Int64
    public var timings: PhaseTimings
    /// 0 when no response status arrived.
    public var statusCode: Int
    /// `1.0`, `1.1`, `2` or `3`; nil without a response.
    public var httpVersion: String?
    public var bytesReceived: Int64
    public var remoteIP: String?
    public var redirects: Int
    /// Expiry of the server's own certificate, Unix seconds; nil for plain HTTP or without a handshake.
    public var certificateExpiry: Int64?
    /// The earliest expiry in the presented chain, Unix seconds.
    public var chainEarliestExpiry: Int64?
    /// nil when the probe succeeded.
    public var failure: ProbeFailure?

    public init(
        endpoint: String, url: String, method: String, connection: ConnectionMode, startedAt: Int64,
        timings: PhaseTimings, statusCode: Int = 0, httpVersion: String? = nil, bytesReceived: Int64 = 0,
        remoteIP: String? = nil, redirects: Int = 0, certificateExpiry: Int64? = nil,
        chainEarliestExpiry: Int64? = nil, failure: ProbeFailure? = nil
    ) {
        self.endpoint = endpoint
        self.url = url
        self.method = method
        self.connection = connection
        self.startedAt = startedAt
        self.timings = timings
        self.statusCode = statusCode
        self.httpVersion = httpVersion
        self.bytesReceived = bytesReceived
        self.remoteIP = remoteIP
        self.redirects = redirects
        self.certificateExpiry = certificateExpiry
        self.chainEarliestExpiry = chainEarliestExpiry
        self.failure = failure
    }

    public var succeeded: Bool { failure == nil }
}

/// Why a probe failed, with libcurl's or the checker's own words.
public struct ProbeFailure: Sendable, Equatable {
    public var reason: FailureReason
    public var message: String

    public init(reason: FailureReason, message: String) {
        self.reason = reason
        self.message = message
    }
}

/// The failure classes, matching the `reason` label of `probe_failures_total`.
public enum FailureReason: String, Sendable, CaseIterable {
    case dns, connect, tls, timeout
    case httpStatus = "http_status"
    case bodyMismatch = "body_mismatch"
    case tooLarge = "too_large"
    case redirects, other
}

/// Durations of each phase in microseconds, derived from libcurl's cumulative `*_TIME_T` marks the
/// way blackbox_exporter splits them. A phase the probe never reached is nil, so a failed probe
/// still shows how far it got and how long each step took.
public struct PhaseTimings: Sendable, Equatable {
    public var dns: Int64?
    public var connect: Int64?
    /// nil for plain HTTP and when the handshake did not finish.
    public var tls: Int64?
    /// Server time to first byte, after the request was sent.
    public var processing: Int64?
    public var transfer: Int64?
    /// Time spent on redirects before the final request (0 without redirects).
    public var redirect: Int64
    public var total: Int64

    public init(
        dns: Int64? = nil, connect: Int64? = nil, tls: Int64? = nil, processing: Int64? = nil,
        transfer: Int64? = nil, redirect: Int64 = 0, total: Int64
    ) {
        self.dns = dns
        self.connect = connect
        self.tls = tls
        self.processing = processing
        self.transfer = transfer
        self.redirect = redirect
        self.total = total
    }

    /// The raw cumulative marks libcurl reports, in microseconds from the start of the transfer.
    /// libcurl records a reached mark as at least 1 µs, so 0 means "not reached".
    public struct Marks: Sendable, Equatable {
        public var nameLookup: Int64
        public var connect: Int64
        public var appConnect: Int64
        public var preTransfer: Int64
        public var startTransfer: Int64
        public var total: Int64
        public var redirect: Int64

        public init(
            nameLookup: Int64, connect: Int64, appConnect: Int64, preTransfer: Int64, startTransfer: Int64,
            total: Int64, redirect: Int64
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

    public init(marks: Marks) {
        func reached(_ end: Int64, since start: Int64) -> Int64? { end > 0 ? max(0, end - start) : nil }
        self.init(
            dns: reached(marks.nameLookup, since: 0),
            connect: reached(marks.connect, since: marks.nameLookup),
            tls: reached(marks.appConnect, since: marks.connect),
            processing: reached(marks.startTransfer, since: marks.preTransfer),
            transfer: reached(marks.startTransfer, since: 0).map { _ in max(0, marks.total - marks.startTransfer) },
            redirect: marks.redirect, total: marks.total)
    }
}
