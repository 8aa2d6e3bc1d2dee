import Foundation
import Logging
import ServiceLifecycle

/// Where a reader's records come from: probe results, or alert events in the outbox.
public struct SpoolSource<Element: Sendable>: Sendable {
    let read: @Sendable (Spool, UInt64, Int) throws(SpoolError) -> [SpoolEntry<Element>]
    let lastSequence: @Sendable (Spool) -> UInt64
}

extension SpoolSource where Element == ProbeResult {
    public static var results: SpoolSource {
        SpoolSource(read: { spool, after, limit throws(SpoolError) in try spool.results(after: after, limit: limit) }, lastSequence: { $0.lastSequence })
    }
}

extension SpoolSource where Element == AlertEvent {
    /// Events that cannot be decoded (written by a newer version) are skipped.
    public static var outbox: SpoolSource {
        SpoolSource(
            read: { spool, after, limit throws(SpoolError) in
                try spool.outbox(after: after, limit: limit).compactMap { entry in
                    (try? JSONDecoder().decode(AlertEvent.self, from: Data(entry.value))).map { SpoolEntry(sequence: entry.sequence, value: $0) }
                }
            },
            lastSequence: { $0.lastOutboxSequence })
    }
}

/// The one spool-reader loop: every output, alert receiver, the alert evaluator and the status
/// board run on it. It carries out what `SpoolReaderMachine` decides — reads, waits, sends,
/// commits — and turns its notes into health, logs and metrics. It never throws: a failing
/// backend or a failing disk makes it wait and retry, and can never end the service group.
public struct SpoolReader<Policy: SpoolReaderPolicy>: Service, CustomStringConvertible {
    public let name: ReaderName
    private let policy: Policy
    private let retry: RetryPolicy
    private let source: SpoolSource<Policy.Element>
    private let spool: Spool
    private let live: LiveConfig
    private let health: ReaderHealth
    private let transport: @Sendable (Policy.Request) async -> Result<OutputResponse, TransportError>
    private let publish: @Sendable (Policy.Publication) -> Void
    private let subject: String
    private let noun: String
    private let onFinish: @Sendable () async -> Void
    private let logger: Logger

    /// - Parameters:
    ///   - subject, noun: how log lines name the backend and what it is sent ("pushgateway",
    ///     "push"; "slack", "delivery").
    ///   - transport: sends a request; its errors and the answers it returns are already scrubbed.
    ///   - publish: hands a commit's publication to the agent's memory.
    ///   - onFinish: runs once the reader is done at shutdown (the Pushgateway's `delete_on_shutdown`).
    public init(
        name: ReaderName, policy: Policy, retry: RetryPolicy, source: SpoolSource<Policy.Element>, spool: Spool,
        live: LiveConfig, health: ReaderHealth, subject: String, noun: String = "delivery",
        transport: @escaping @Sendable (Policy.Request) async -> Result<OutputResponse, TransportError>,
        publish: @escaping @Sendable (Policy.Publication) -> Void = { _ in }, onFinish: @escaping @Sendable () async -> Void = {},
        logger: Logger
    ) {
        var logger = logger
        logger[metadataKey: "output"] = "\(name)"
        self.name = name
        self.policy = policy
        self.retry = retry
        self.source = source
        self.spool = spool
        self.live = live
        self.health = health
        self.transport = transport
        self.publish = publish
        self.subject = subject
        self.noun = noun
        self.onFinish = onFinish
        self.logger = logger
    }

    /// What lifecycle logs print: never the configuration (it may hold credentials).
    public var description: String { "SpoolReader(\(name))" }

    public func run() async {
        var machine = SpoolReaderMachine(policy: policy, retry: retry)
        var generation = spool.changeGeneration
        func context() -> ReaderContext {
            generation = spool.changeGeneration
            return ReaderContext(
                now: .now, wallClock: .now, lastSequence: source.lastSequence(spool), configuration: live.configuration,
                random: Double.random(in: 0..<1))
        }
        var shutdownSeen = false
        var step = SpoolReaderMachine<Policy>.Step(notes: [], next: .start)
        while !Task.isCancelled {
            record(step.notes)
            if !shutdownSeen, Task.isShuttingDownGracefully, step.next.mayYieldToShutdown {
                shutdownSeen = true
                step = machine.shutdown(context: context())
                continue
            }
            switch step.next {
            case .start:
                do throws(SpoolError) {
                    let (cursor, state) = try spool.position(of: name)
                    step = machine.start(cursor: cursor, state: state, context: context())
                } catch {
                    step = machine.startFailed(error, context: context())
                }
            case .read(let after, let limit):
                do throws(SpoolError) {
                    let entries = try source.read(spool, after, limit)
                    step = machine.read(entries, context: context())
                } catch {
                    step = machine.readFailed(error, after: after, limit: limit, context: context())
                }
            case .wait(let deadline, let orChange):
                let seen = generation
                let spool = spool
                try? await cancelWhenGracefulShutdown {
                    if orChange {
                        await spool.waitForChange(beyond: seen, until: deadline)
                    } else if let deadline {
                        try await Task.sleep(for: deadline.duration(after: .now))
                    } else {
                        try await Task.sleep(for: .seconds(3600))
                    }
                }
                if !shutdownSeen, Task.isShuttingDownGracefully {
                    shutdownSeen = true
                    step = machine.shutdown(context: context())
                } else {
                    step = machine.waited(context: context())
                }
            case .send(let request):
                let outcome = await transport(request)
                step = machine.answered(outcome, context: context())
            case .commit(let commit, let retryUntilWritten):
                if commit.durable {
                    do throws(SpoolError) {
                        try await spool.commit(
                            name, cursor: commit.cursor, state: commit.state, outbox: commit.outbox,
                            retryUntilWritten: retryUntilWritten)
                    } catch {
                        step = machine.commitFailed(commit, error: error, context: context())
                        continue
                    }
                }
                if let publication = commit.publication {
                    publish(publication)
                    // A durable reader that publishes (the alert evaluator) has done its work once it
                    // has; the status board's in-memory position is not an output's progress.
                    if commit.durable { health.succeeded(name) }
                }
                step = machine.committed(commit, context: context())
            case .flush:
                try? await spool.flush()
                step = machine.flushed(context: context())
            case .finished:
                record(step.notes)
                await onFinish()
                return
            }
        }
    }

    private func record(_ notes: [ReaderNote]) {
        for note in notes {
            switch note {
            case .delivered(let time):
                health.succeeded(name, at: time)
            case .deliveryFailed(let reason, let first, let backlog, let retryIn):
                health.failed(name, reason: reason)
                let metadata: Logger.Metadata = [
                    "reason": "\(reason)", "backlog_records": "\(backlog)", "retry_in_ms": "\(retryIn.inNanoseconds / 1_000_000)",
                ]
                if first {
                    logger.warning("\(subject) \(noun) failed; what it was sent waits in the spool and goes out when it is back", metadata: metadata)
                } else {
                    logger.debug("\(subject) \(noun) failed again", metadata: metadata)
                }
            case .recovered(let after):
                logger.notice("\(subject) accepts data again", metadata: ["outage_seconds": "\(after.components.seconds)"])
            case .caughtUp(let after):
                logger.notice("\(subject) backlog drained", metadata: ["seconds": "\(after.components.seconds)"])
            case .rejected(let reason):
                health.failed(name, reason: reason)
                health.rejected(name, reason: reason)
                logger.error("\(subject) refused a \(noun) for good; it is not resent", metadata: ["reason": "\(reason)"])
            case .refused(let records):
                health.refused(name, records: records)
            case .storageFailed(let reason, let first):
                if first {
                    logger.error("\(subject) reader cannot read or commit in the spool; retrying", metadata: ["error": "\(reason)"])
                }
            case .storageRecovered:
                logger.notice("\(subject) reader reads and commits in the spool again")
            case .drainIncomplete(let reason):
                logger.warning(
                    "\(subject) did not take the last data before shutdown; the spool keeps it for the next start",
                    metadata: ["reason": "\(reason)"])
            case .log(let note):
                logger.log(level: note.level.loggerLevel, "\(note.message)", metadata: note.metadata.mapValues { .string($0) })
            }
        }
    }
}

extension SpoolReaderMachine.Next {
    /// Whether graceful shutdown may take over before this step: never before a commit (the
    /// delivery it records has happened) nor a send already decided.
    fileprivate var mayYieldToShutdown: Bool {
        switch self {
        case .read, .wait, .start: return true
        case .send, .commit, .flush, .finished: return false
        }
    }
}

extension LogNote.Level {
    var loggerLevel: Logger.Level {
        switch self {
        case .debug: return .debug
        case .info: return .info
        case .notice: return .notice
        case .warning: return .warning
        case .error: return .error
        }
    }
}

extension SpoolReader where Policy.Request == Never {
    /// A reader that sends nothing (the alert evaluator, the status board).
    public init(
        name: ReaderName, policy: Policy, source: SpoolSource<Policy.Element>, spool: Spool, live: LiveConfig,
        health: ReaderHealth, subject: String, publish: @escaping @Sendable (Policy.Publication) -> Void, logger: Logger
    ) {
        self.init(
            name: name, policy: policy, retry: .storage, source: source, spool: spool, live: live, health: health,
            subject: subject, transport: Self.unreachable, publish: publish, logger: logger)
    }

    /// There is no request of type `Never` to send.
    private static func unreachable(_ request: Never) async -> Result<OutputResponse, TransportError> {}
}
