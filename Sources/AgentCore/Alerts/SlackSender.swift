import Foundation
import Logging
import ServiceLifecycle

/// What the sender does after a webhook call, from Slack's answer alone: 2xx delivered; 429 wait
/// `Retry-After` and send again; 5xx or no answer, back off and send again; any other 4xx
/// (`invalid_payload`, `no_service`, `channel_is_archived`…) cannot be fixed by resending.
public enum SlackDecision: Equatable, Sendable {
    case delivered
    case rejected(status: Int, reason: String)
    case retry(reason: String, after: Duration?)

    public init(_ outcome: Result<OutputResponse, TransportError>) {
        switch outcome {
        case .success(let response) where (200..<300).contains(response.status):
            self = .delivered
        case .success(let response) where response.status == 429:
            self = .retry(reason: "HTTP 429: \(response.body.prefix(100))", after: response.retryAfter ?? .seconds(1))
        case .success(let response) where response.status >= 500:
            self = .retry(reason: "HTTP \(response.status): \(response.body.prefix(100))", after: nil)
        case .success(let response):
            self = .rejected(status: response.status, reason: String(response.body.prefix(200)))
        case .failure(let error):
            self = .retry(reason: error.description, after: nil)
        }
    }
}

/// Delivers outbox events to one Slack incoming webhook. Its cursor moves only after Slack's 2xx
/// (or a permanent refusal, raised loudly), so each event arrives once, in order, after any outage.
public struct SlackSender: Service, CustomStringConvertible {
    private let receiver: SlackReceiver
    private let node: String
    private let groupingWindow: Duration
    private let spool: Spool
    private let health: OutputHealth
    private let client: OutputHTTPClient
    private let logger: Logger
    /// Slack takes about one message per second per webhook.
    static let pace = Duration.seconds(1)
    /// One message carries a whole storm (its text lists the first few and counts the rest).
    static let maxEventsPerMessage = 5000

    public init(receiver: SlackReceiver, node: String, groupingWindow: Duration, spool: Spool, health: OutputHealth, logger: Logger) {
        var logger = logger
        logger[metadataKey: "output"] = "\(receiver.readerName)"
        self.receiver = receiver
        self.node = node
        self.groupingWindow = groupingWindow
        self.spool = spool
        self.health = health
        // The URL is the secret: the client's connection is never printed, and errors carry no URL.
        self.client = OutputHTTPClient(name: "slack", connection: OutputConnection(url: receiver.webhook.exposedValue, timeout: receiver.timeout))
        self.logger = logger
    }

    public var description: String { "SlackSender(\(receiver.name))" }

    public func run() async throws {
        var cursor = try spool.position(of: receiver.readerName).cursor
        var backoff = Backoff(initial: .seconds(1), maximum: .seconds(300))
        var lastSend: ContinuousClock.Instant?
        var outageLogged = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let entries = try spool.outbox(after: cursor, limit: Self.maxEventsPerMessage).map { entry in
                (entry.sequence, try? JSONDecoder().decode(AlertEvent.self, from: Data(entry.event)))
            }
            guard let lastEntry = entries.last else {
                await sleep(.milliseconds(200))
                continue
            }
            let relevant = entries.filter { _, event in event.map(wanted) ?? false }
            guard let first = relevant.first?.1 else {
                try await spool.commit(reader: receiver.readerName, cursor: lastEntry.0, state: nil)
                cursor = lastEntry.0
                continue
            }
            // Wait for company: transitions within the grouping window go out together.
            let age = Duration.nanoseconds(WallClock.now() - first.at)
            if age < groupingWindow {
                await sleep(min(.milliseconds(200), groupingWindow - age))
                continue
            }
            let group = Array(relevant.prefix { $0.1!.at - first.at <= groupingWindow.nanoseconds }.prefix(Self.maxEventsPerMessage))
            if let lastSend, ContinuousClock.now - lastSend < Self.pace {
                await sleep(Self.pace - (ContinuousClock.now - lastSend))
            }
            lastSend = .now
            let body = SlackMessage.body(for: group.map { $0.1! }, node: node, link: receiver.link)
            let decision = SlackDecision(await client.send(OutputRequest(
                method: "POST", url: receiver.webhook.exposedValue,
                headers: [HTTPHeader(name: "Content-Type", value: "application/json")], body: body)))
            switch decision {
            case .delivered:
                health.succeeded(receiver.readerName)
                if outageLogged { logger.notice("slack webhook accepts messages again") }
                outageLogged = false
                backoff.reset()
            case .rejected(let status, let reason):
                logger.error(
                    "slack refused the message; it is not resent: fix the webhook (archived channel, removed app?)",
                    metadata: ["status": "\(status)", "reason": "\(reason)", "events": "\(group.count)"])
                health.failed(receiver.readerName, reason: "HTTP \(status): \(reason)")
                health.rejected(receiver.readerName, reason: reason.isEmpty ? "http_\(status)" : reason)
            case .retry(let reason, let after):
                health.failed(receiver.readerName, reason: reason)
                if !outageLogged {
                    logger.warning("slack delivery failed; alerts wait in the outbox", metadata: ["reason": "\(reason)"])
                    outageLogged = true
                }
                await sleep(backoff.next(retryAfter: after))
                continue
            }
            let through = group.last!.0
            try await spool.commit(reader: receiver.readerName, cursor: through, state: nil)
            cursor = through
        }
    }

    private func wanted(_ event: AlertEvent) -> Bool {
        !event.silenced && (receiver.endpoints?.contains(event.endpoint) ?? true)
    }

    private func sleep(_ duration: Duration) async {
        guard duration > .zero else { return }
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
    }
}
