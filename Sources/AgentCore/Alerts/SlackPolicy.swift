/// Delivers outbox events to one Slack incoming webhook: the transitions within the grouping
/// window go out as one message, paced so two messages never arrive less than a second apart.
/// The cursor moves only after Slack's 2xx (or a permanent refusal, raised loudly), so each event
/// arrives once, in order, after any outage.
public struct SlackPolicy: SpoolReaderPolicy {
    public typealias Publication = Never
    public typealias Element = AlertEvent
    public typealias Request = OutputRequest

    /// Slack takes about one message per second per webhook. Measured from the previous answer,
    /// which came after the previous message arrived, so arrivals are at least this far apart.
    public static let pace = Duration.seconds(1)
    /// One message carries a whole storm (its text lists the first few and counts the rest).
    public static let maxEventsPerMessage = 5000

    private let receiver: SlackReceiverConfig
    private let node: String
    private let groupingWindow: Duration
    private var readThrough: UInt64 = 0
    private var committedThrough: UInt64 = 0
    /// Events read and wanted by this receiver, not yet delivered.
    private var pending: [SpoolEntry<AlertEvent>] = []
    private var inFlight: (request: OutputRequest, count: Int)?
    private var lastAnswer: MonotonicInstant?
    private var draining = false

    public init(receiver: SlackReceiverConfig, node: String, groupingWindow: Duration) {
        self.receiver = receiver
        self.node = node
        self.groupingWindow = groupingWindow
    }

    public mutating func start(cursor: UInt64, state: [UInt8]?, context: ReaderContext) -> Action {
        readThrough = cursor
        committedThrough = cursor
        return next(context: context)
    }

    public mutating func received(_ entries: [SpoolEntry<AlertEvent>], context: ReaderContext) -> Action {
        readThrough = entries.last?.sequence ?? max(readThrough, context.lastSequence)
        let labels = receiver.matchLabels.isEmpty ? [:] : context.configuration.labelsByEndpoint
        pending += entries.filter { !$0.value.silenced && receiver.routes($0.value.endpoint, labels: labels[$0.value.endpoint]) }
        return next(context: context)
    }

    /// The standard rule, and a 429 without `Retry-After` waits one pace.
    public func verdict(on outcome: Result<OutputResponse, TransportError>) -> DeliveryVerdict {
        if case .success(let response) = outcome, response.status == 429 {
            return .retry(reason: response.summary, after: response.retryAfter ?? Self.pace)
        }
        return .standard(outcome)
    }

    public mutating func delivered(_ delivery: Delivery, context: ReaderContext) -> Action {
        lastAnswer = context.now
        guard let sent = inFlight else { return next(context: context) }
        inFlight = nil
        pending.removeFirst(sent.count)
        // Everything before the next wanted event is delivered or not for this receiver.
        let cursor = pending.first.map { $0.sequence - 1 } ?? readThrough
        committedThrough = cursor
        return .commit(ReaderCommit(cursor: cursor))
    }

    public mutating func retrying(since answer: MonotonicInstant, context: ReaderContext) -> Action {
        lastAnswer = answer
        guard let sent = inFlight else { return next(context: context) }
        if context.now < answer + Self.pace { return .wait(until: answer + Self.pace, orChange: false) }
        return .send(sent.request)
    }

    /// At shutdown what is pending goes at once, as one message, without waiting for the window.
    public mutating func draining(context: ReaderContext) -> Action {
        draining = true
        return next(context: context)
    }

    public mutating func next(context: ReaderContext) -> Action {
        if let sent = inFlight {
            // A pace wait after a failed attempt ended: send the same message again.
            if let lastAnswer, context.now < lastAnswer + Self.pace { return .wait(until: lastAnswer + Self.pace, orChange: false) }
            return .send(sent.request)
        }
        if readThrough < context.lastSequence, pending.count < Self.maxEventsPerMessage {
            return .read(after: readThrough, limit: Self.maxEventsPerMessage)
        }
        guard let first = pending.first else {
            if readThrough > committedThrough {
                committedThrough = readThrough
                return .commit(ReaderCommit(cursor: readThrough))
            }
            return draining ? .finished : .wait(until: nil, orChange: true)
        }
        let windowEnd = first.value.at + groupingWindow
        if !draining, context.wallClock < windowEnd {
            return .wait(until: context.now + (windowEnd - context.wallClock), orChange: true)
        }
        if let lastAnswer, context.now < lastAnswer + Self.pace {
            return .wait(until: lastAnswer + Self.pace, orChange: false)
        }
        let group = draining
            ? Array(pending.prefix(Self.maxEventsPerMessage))
            : Array(pending.prefix { $0.value.at - first.value.at <= groupingWindow }.prefix(Self.maxEventsPerMessage))
        let body = SlackMessage.body(
            for: group.map(\.value), node: node, link: receiver.link, labels: context.configuration.labelsByEndpoint)
        let request = OutputRequest(
            method: "POST", url: receiver.webhook.exposedValue,
            headers: [HTTPHeader(name: "Content-Type", value: "application/json")], body: body)
        inFlight = (request, group.count)
        return .send(request)
    }
}
