/// What one spool reader decides. Pure: it sees events (records read, an answer received, time
/// passed) and returns what to do next. `SpoolReader` carries the actions out and
/// `SpoolReaderMachine` adds what every reader shares — backoff, `Retry-After`, outage and
/// recovery notes, retrying reads and commits — so a policy holds only its output's own rules:
/// how records become a request, what the backend's answer means, and what to commit.
///
/// Adding an output is a policy (tested by feeding events and asserting actions, with no sockets
/// and no sleeps) plus the transport that sends its requests.
public protocol SpoolReaderPolicy: Sendable {
    /// What the reader reads: probe results, or alert events from the outbox.
    associatedtype Element: Sendable
    /// What it sends; `Never` for readers that only commit (the alert evaluator).
    associatedtype Request: Sendable = Never
    /// What it hands to the agent's memory after a commit (the firing alerts, the status board).
    associatedtype Publication: Sendable = Never

    typealias Action = ReaderAction<Request, Publication>

    /// Where the reader starts: its committed cursor and state.
    mutating func start(cursor: UInt64, state: [UInt8]?, context: ReaderContext) -> Action
    /// Records after the last ones read, in order (up to the limit asked for; fewer at the end).
    mutating func received(_ entries: [SpoolEntry<Element>], context: ReaderContext) -> Action
    /// A wait ended: its deadline passed or new records became durable.
    mutating func resumed(context: ReaderContext) -> Action
    /// The output's retry choice: what the backend's answer means.
    func verdict(on outcome: Result<OutputResponse, TransportError>) -> DeliveryVerdict
    /// The last request was accepted, or refused for good: what to commit (or do) now.
    mutating func delivered(_ delivery: Delivery, context: ReaderContext) -> Action
    /// The backoff after a failed delivery is over: what to send now. `answer` is when the failed
    /// attempt's answer came (what a pace is measured from).
    mutating func retrying(since answer: MonotonicInstant, context: ReaderContext) -> Action
    /// The last commit is durable.
    mutating func committed(context: ReaderContext) -> Action
    /// Graceful shutdown: deliver what is left without waiting for batches or pacing, then
    /// `.finished`. The spool has been flushed.
    mutating func draining(context: ReaderContext) -> Action
    /// Log lines the policy wants written, taken after each event.
    mutating func takeNotes() -> [LogNote]
    /// What to do from the policy's present state: where the events that bring no news of their
    /// own (a wait ended, a commit landed) go by default.
    mutating func next(context: ReaderContext) -> Action
}

extension SpoolReaderPolicy {
    public func verdict(on outcome: Result<OutputResponse, TransportError>) -> DeliveryVerdict { .standard(outcome) }
    public mutating func takeNotes() -> [LogNote] { [] }
    public mutating func resumed(context: ReaderContext) -> Action { next(context: context) }
    public mutating func committed(context: ReaderContext) -> Action { next(context: context) }
}

extension SpoolReaderPolicy where Request == Never {
    /// A reader that sends nothing is never answered.
    public mutating func delivered(_ delivery: Delivery, context: ReaderContext) -> Action { next(context: context) }
    public mutating func retrying(since answer: MonotonicInstant, context: ReaderContext) -> Action { next(context: context) }
}

/// What a policy asks for next.
public enum ReaderAction<Request: Sendable, Publication: Sendable>: Sendable {
    /// Read up to `limit` records after `after`, then call `received`.
    case read(after: UInt64, limit: Int)
    /// Wait until `deadline` (nil: no deadline), and also end the wait when new records become
    /// durable if `orChange`; then call `resumed`.
    case wait(until: MonotonicInstant?, orChange: Bool)
    /// Send the request, then call `delivered` or, after a backoff, `retrying`.
    case send(Request)
    /// Commit, then call `committed`.
    case commit(ReaderCommit<Publication>)
    /// Nothing more to do (only while draining).
    case finished
}

/// A reader's new position: cursor and state in one spool transaction, with the outbox events
/// it produced, and what to publish once it is durable.
public struct ReaderCommit<Publication: Sendable>: Sendable {
    public var cursor: UInt64
    /// nil leaves the saved state as it is.
    public var state: [UInt8]?
    public var outbox: [[UInt8]]
    public var publication: Publication?
    /// False for readers whose position lives only in memory (the status board).
    public var durable: Bool

    public init(cursor: UInt64, state: [UInt8]? = nil, outbox: [[UInt8]] = [], publication: Publication? = nil, durable: Bool = true) {
        self.cursor = cursor
        self.state = state
        self.outbox = outbox
        self.publication = publication
        self.durable = durable
    }
}

/// The facts every event comes with: the clocks, how far the spool is, and the configuration in
/// force (which a reload may have changed).
public struct ReaderContext: Sendable {
    public var now: MonotonicInstant
    public var wallClock: Timestamp
    /// The newest durable record of the reader's source.
    public var lastSequence: UInt64
    public var configuration: Configuration
    /// A draw from 0..<1 for backoff jitter, passed in so the machine stays pure.
    public var random: Double

    public init(now: MonotonicInstant, wallClock: Timestamp, lastSequence: UInt64, configuration: Configuration, random: Double = 0.5) {
        self.now = now
        self.wallClock = wallClock
        self.lastSequence = lastSequence
        self.configuration = configuration
        self.random = random
    }
}

/// A request's fate.
public enum Delivery: Sendable, Equatable {
    case accepted
    /// Refused for a reason a retry cannot fix: not resent.
    case rejected(reason: String)
}

/// What a backend's answer means for the data it was sent.
public enum DeliveryVerdict: Sendable, Equatable {
    case accepted
    case rejected(reason: String)
    /// Try again after `after` (the server's `Retry-After`) or the reader's backoff.
    case retry(reason: String, after: Duration?)

    /// The rule most HTTP backends follow (Loki, Slack, Alertmanager, remote-write receivers):
    /// 2xx accepted; 429, 5xx and no answer retried (honouring `Retry-After`); any other 4xx
    /// refused for good.
    public static func standard(_ outcome: Result<OutputResponse, TransportError>) -> DeliveryVerdict {
        switch outcome {
        case .success(let response) where (200..<300).contains(response.status):
            return .accepted
        case .success(let response) where response.status == 429 || response.status >= 500:
            return .retry(reason: response.summary, after: response.retryAfter)
        case .success(let response):
            return .rejected(reason: response.summary)
        case .failure(let error):
            return .retry(reason: error.description, after: nil)
        }
    }
}

/// The log lines a policy has asked for and the reader has not yet taken.
public struct LogNotes: Sendable {
    private var pending: [LogNote] = []

    public init() {}

    public mutating func append(_ note: LogNote) { pending.append(note) }
    public mutating func append(contentsOf notes: [LogNote]) { pending += notes }

    /// Hands over what is pending and starts empty, so a note is written once.
    public mutating func take() -> [LogNote] {
        defer { pending.removeAll() }
        return pending
    }
}

/// A log line a policy asks for; the reader adds its own name.
public struct LogNote: Sendable, Equatable {
    public enum Level: Sendable, Equatable { case debug, info, notice, warning, error }
    public var level: Level
    public var message: String
    public var metadata: [String: String]

    public init(_ level: Level, _ message: String, _ metadata: [String: String] = [:]) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }
}
