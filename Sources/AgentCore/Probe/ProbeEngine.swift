import CCurl
import Foundation
import Logging
import Synchronization

/// Runs every probe of the agent on one thread with libcurl's multi interface, and schedules them
/// on the same thread, so a probe starts within a millisecond of its due time without a thread or
/// a task per probe.
///
/// The thread blocks in `curl_multi_poll`, never on Swift's cooperative pool (two threads here).
/// Other threads talk to it through a locked inbox and `curl_multi_wakeup`.
public final class ProbeEngine: @unchecked Sendable {
    // Why @unchecked Sendable is sound: `loop` and everything it owns (the multi handle, the easy
    // handles, the schedule) are used only by the thread started in `init` — checked at run time
    // by their `ThreadConfinement` — except `loop.multi.wakeup()`, which libcurl documents as
    // callable from any thread. `shared` is a Mutex. The multi handle is freed only when this
    // object dies, which cannot happen while the thread runs: its closure holds a strong reference.
    private let loop: ProbeLoop
    private let shared: Mutex<SharedState>
    /// Monotonic time of the engine thread's last turn: `/health` reads it to see a stalled scheduler.
    private let heartbeat = Atomic<UInt64>(MonotonicInstant.now.nanoseconds)

    public enum EngineError: Error, CustomStringConvertible {
        case stopped
        case setup(any Error)

        public var description: String {
            switch self {
            case .stopped: return "the probe engine has stopped"
            case .setup(let error): return "cannot set up the probe: \(error)"
            }
        }
    }

    /// Hooks for self-metrics, called on the engine thread; they must not block.
    public struct Observer: Sendable {
        public enum SkipReason: Sendable { case inFlight, behind }
        /// A scheduled probe started, this far behind its due time.
        public var started: @Sendable (Duration) -> Void
        /// Ticks were dropped.
        public var skipped: @Sendable (SkipReason, Int) -> Void

        public init(started: @escaping @Sendable (Duration) -> Void, skipped: @escaping @Sendable (SkipReason, Int) -> Void) {
            self.started = started
            self.skipped = skipped
        }

        public static let none = Observer(started: { _ in }, skipped: { _, _ in })
    }

    /// - Parameters:
    ///   - seed: mixed into each endpoint's schedule phase; the node name, so nodes spread out.
    ///   - onResult: called on the engine thread with every scheduled probe's result; must not block.
    public init(
        seed: String, logger: Logger, observer: Observer = .none, onResult: @escaping @Sendable (ProbeResult) -> Void
    ) {
        self.loop = ProbeLoop(seed: seed, logger: logger, observer: observer, onResult: onResult)
        self.shared = Mutex(SharedState())
        let thread = Thread { [self] in
            loop.run(engine: self)
        }
        thread.name = "latency-agent-probes"
        thread.start()
    }

    /// Replaces the scheduled endpoints; unchanged ones keep their rhythm (see `ProbeSchedule`).
    /// `scrubber` removes the configuration's secrets from libcurl's error messages.
    public func setEndpoints(_ endpoints: [EndpointConfig], scrubber: SecretScrubber) {
        send(.setEndpoints(endpoints, scrubber))
    }

    /// Probes `endpoint` once, outside the schedule: the `probe` command.
    public func probe(_ endpoint: EndpointConfig, scrubber: SecretScrubber = SecretScrubber()) async throws -> ProbeResult {
        try await withCheckedThrowingContinuation { continuation in
            send(.probeOnce(endpoint, scrubber, continuation))
        }
    }

    /// Stops scheduling, lets probes in flight finish for up to `grace`, then ends the thread.
    public func shutdown(grace: Duration) async {
        send(.stop(deadline: .now + max(.zero, grace)))
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = shared.withLock { state in
                if !state.exited { state.exitWaiters.append(continuation) }
                return state.exited
            }
            if exited { continuation.resume() }
        }
    }

    public var statistics: ProbeStatistics {
        shared.withLock { $0.statistics }
    }

    /// When the engine thread last went round its loop (it does at least once a second).
    public var lastHeartbeat: MonotonicInstant { MonotonicInstant(nanoseconds: heartbeat.load(ordering: .relaxed)) }

    fileprivate func beat() {
        heartbeat.store(MonotonicInstant.now.nanoseconds, ordering: .relaxed)
    }

    private func send(_ command: Command) {
        let accepted = shared.withLock { state in
            guard !state.exited else { return false }
            state.inbox.append(command)
            return true
        }
        if accepted {
            loop.multi.wakeup()
        } else if case .probeOnce(_, _, let continuation) = command {
            continuation.resume(throwing: EngineError.stopped)
        }
    }

    fileprivate func takeCommands() -> [Command] {
        shared.withLock { state in
            defer { state.inbox.removeAll() }
            return state.inbox
        }
    }

    fileprivate func updateStatistics(_ body: (inout ProbeStatistics) -> Void) {
        shared.withLock { body(&$0.statistics) }
    }

    /// Marks the thread as gone and returns the commands that arrived too late to run.
    fileprivate func markExited() -> [Command] {
        let (waiters, leftovers) = shared.withLock { state in
            state.exited = true
            defer {
                state.exitWaiters.removeAll()
                state.inbox.removeAll()
            }
            return (state.exitWaiters, state.inbox)
        }
        waiters.forEach { $0.resume() }
        return leftovers
    }

    fileprivate enum Command: Sendable {
        case setEndpoints([EndpointConfig], SecretScrubber)
        case probeOnce(EndpointConfig, SecretScrubber, CheckedContinuation<ProbeResult, any Error>)
        case stop(deadline: MonotonicInstant)
    }

    private struct SharedState: Sendable {
        var inbox: [Command] = []
        var statistics = ProbeStatistics()
        var exited = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }
}

/// The engine thread's own state. Not Sendable: only that thread touches it (checked).
private final class ProbeLoop {
    let multi = CurlMulti()
    private let confinement = ThreadConfinement()
    private var schedule: ProbeSchedule
    private let logger: Logger
    private let onResult: @Sendable (ProbeResult) -> Void
    private let observer: ProbeEngine.Observer
    private let userAgent = "latency-agent/\(AgentVersion.current) libcurl/\(CurlGlobal.version)"
    /// The transfer or socket probe of each scheduled endpoint, by name.
    private var scheduled: [String: ScheduledProbe] = [:]
    /// Transfers in flight, by easy handle.
    private var active: [CurlEasy.ID: Active] = [:]
    /// Socket probes (DNS, ICMP) in flight, with what each waits for.
    private var activeSockets: [ObjectIdentifier: ActiveSocketProbe] = [:]
    private var stopDeadline: MonotonicInstant?
    /// Whether probes are failing for want of a socket: logged once when it starts and once when it ends.
    private var shortOfResources = false
    /// OAuth2 access tokens, shared by the endpoints with the same client.
    private var tokens = OAuth2TokenCache()

    private struct Active {
        let work: Work
        /// Set for one-off probes; scheduled results go to `onResult`.
        let continuation: CheckedContinuation<ProbeResult, any Error>?

        enum Work {
            case probe(ProbeTransfer)
            case inspection(CertificateInspection)
            /// The token `transfer` needs before it can start, fetched since `since`.
            case token(OAuth2TokenRequest, for: ProbeTransfer, startedAt: Timestamp, since: MonotonicInstant)
        }

        var easy: CurlEasy {
            switch work {
            case .probe(let transfer): return transfer.easy
            case .inspection(let inspection): return inspection.easy
            case .token(let request, _, _, _): return request.easy
            }
        }
    }

    /// An endpoint's probe: a libcurl transfer, or one on the agent's own sockets.
    private enum ScheduledProbe {
        case curl(ProbeTransfer)
        case socket(any SocketProbe)

        var endpoint: EndpointConfig {
            switch self {
            case .curl(let transfer): return transfer.endpoint
            case .socket(let probe): return probe.endpoint
            }
        }
    }

    private struct ActiveSocketProbe {
        let probe: any SocketProbe
        let continuation: CheckedContinuation<ProbeResult, any Error>?
        var descriptor: Int32
        var writable: Bool
        var until: MonotonicInstant
        /// A transfer whose connection the probe talks on, removed from the multi handle (which
        /// closes the connection) when the probe ends.
        let holding: CurlEasy?
    }

    init(
        seed: String, logger: Logger, observer: ProbeEngine.Observer, onResult: @escaping @Sendable (ProbeResult) -> Void
    ) {
        self.schedule = ProbeSchedule(seed: seed)
        self.logger = logger
        self.observer = observer
        self.onResult = onResult
    }

    func run(engine: ProbeEngine) {
        confinement.check("the probe loop")
        while true {
            engine.beat()
            for command in engine.takeCommands() { handle(command, engine: engine) }
            let now = MonotonicInstant.now
            if let stopDeadline {
                if active.isEmpty && activeSockets.isEmpty { break }
                if now >= stopDeadline {
                    abandonActive()
                    break
                }
            } else {
                for action in schedule.due(at: now) { carryOut(action, engine: engine) }
            }
            multi.perform()
            for completion in multi.completions() { complete(completion, engine: engine) }
            let waiting = Array(activeSockets.keys)
            var sockets = waiting.map { key in
                CurlMulti.ExtraSocket(descriptor: activeSockets[key]!.descriptor, writable: activeSockets[key]!.writable)
            }
            multi.poll(timeout: waitTime(now: .now), extra: &sockets)
            let polled = MonotonicInstant.now
            for (key, socket) in zip(waiting, sockets) {
                guard let entry = activeSockets[key], socket.ready || polled >= entry.until else { continue }
                follow(
                    entry.probe.advance(now: polled), of: entry.probe, continuation: entry.continuation, holding: entry.holding,
                    engine: engine)
            }
        }
        for case .probeOnce(_, _, let continuation) in engine.markExited() {
            continuation.resume(throwing: ProbeEngine.EngineError.stopped)
        }
    }

    private func handle(_ command: ProbeEngine.Command, engine: ProbeEngine) {
        switch command {
        case .setEndpoints(let endpoints, let scrubber):
            var next: [String: ScheduledProbe] = [:]
            for endpoint in endpoints {
                if let existing = scheduled[endpoint.name], existing.endpoint == endpoint {
                    next[endpoint.name] = existing
                    continue
                }
                do {
                    next[endpoint.name] = try makeProbe(endpoint, scrubber: scrubber)
                } catch {
                    logger.error(
                        "cannot set up endpoint; it will not be probed",
                        metadata: ["endpoint": "\(endpoint.name)", "error": "\(error)"])
                }
            }
            scheduled = next
            tokens.keep(Set(endpoints.compactMap { $0.authorization?.oauth2 }))
            schedule.setEndpoints(
                next.values.map { ($0.endpoint.name, $0.endpoint.interval) }, now: .now, wallClock: .now)
        case .probeOnce(let endpoint, let scrubber, let continuation):
            guard stopDeadline == nil else {
                continuation.resume(throwing: ProbeEngine.EngineError.stopped)
                return
            }
            do {
                try begin(try makeProbe(endpoint, scrubber: scrubber), continuation: continuation, lag: .zero, engine: engine)
            } catch {
                continuation.resume(throwing: ProbeEngine.EngineError.setup(error))
            }
        case .stop(let deadline):
            stopDeadline = stopDeadline.map { min($0, deadline) } ?? deadline
        }
    }

    private func carryOut(_ action: ProbeSchedule.Action, engine: ProbeEngine) {
        switch action {
        case .start(let name, let lateBy):
            guard let probe = scheduled[name] else { return }
            do {
                try begin(probe, continuation: nil, lag: lateBy, engine: engine)
                observer.started(lateBy)
            } catch {
                schedule.finished(name)
                logger.error("cannot start probe", metadata: ["endpoint": "\(name)", "error": "\(error)"])
            }
        case .skipInFlight:
            engine.updateStatistics { $0.skippedInFlight += 1 }
            observer.skipped(.inFlight, 1)
        case .skipBehind(_, let ticks):
            engine.updateStatistics { $0.skippedBehind += ticks }
            observer.skipped(.behind, ticks)
        }
    }

    private func makeProbe(_ endpoint: EndpointConfig, scrubber: SecretScrubber) throws -> ScheduledProbe {
        switch endpoint.kind {
        case .dns: return .socket(DNSProbe(endpoint: endpoint, query: try DNSQuery(url: endpoint.url)))
        case .icmp: return .socket(ICMPProbe(endpoint: endpoint, target: try ICMPTarget(url: endpoint.url)))
        case .http, .tcp, .tls, .grpc: return .curl(try ProbeTransfer(endpoint: endpoint, userAgent: userAgent, scrubber: scrubber))
        }
    }

    /// Starts `probe` and counts it as started (`lag` behind its due time).
    private func begin(
        _ probe: ScheduledProbe, continuation: CheckedContinuation<ProbeResult, any Error>?, lag: Duration, engine: ProbeEngine
    ) throws(CurlError) {
        switch probe {
        case .curl(let transfer):
            if let client = transfer.endpoint.authorization?.oauth2 {
                if let token = tokens.usable(for: client, at: .now) {
                    try transfer.authorize(bearer: token.value)
                } else {
                    let request = try OAuth2TokenRequest(client, for: transfer.endpoint, userAgent: userAgent)
                    request.begin()
                    try multi.add(request.easy)
                    active[request.easy.id] = Active(
                        work: .token(request, for: transfer, startedAt: .now, since: .now), continuation: continuation)
                    engine.updateStatistics { $0.recordStart(lag: lag) }
                    return
                }
            }
            try start(transfer, continuation: continuation)
            engine.updateStatistics { $0.recordStart(lag: lag) }
        case .socket(let probe):
            // Counted before the first step, which may already be the result.
            engine.updateStatistics { $0.recordStart(lag: lag) }
            follow(probe.start(startedAt: .now, now: .now), of: probe, continuation: continuation, engine: engine)
        }
    }

    private func start(_ transfer: ProbeTransfer, continuation: CheckedContinuation<ProbeResult, any Error>?) throws(CurlError) {
        transfer.begin(startedAt: .now)
        try multi.add(transfer.easy)
        active[transfer.easy.id] = Active(work: .probe(transfer), continuation: continuation)
    }

    /// A token arrived (the probe starts with it) or could not be had (the probe fails with
    /// reason `auth`, and the next one asks again).
    private func tokenArrived(
        _ outcome: Result<OAuth2Token, ProbeFailure>, for transfer: ProbeTransfer, client: OAuth2Config,
        startedAt: Timestamp, since: MonotonicInstant, continuation: CheckedContinuation<ProbeResult, any Error>?,
        engine: ProbeEngine
    ) {
        let failure: ProbeFailure
        switch outcome {
        case .success(let token):
            tokens.store(token, for: client)
            do {
                try transfer.authorize(bearer: token.value)
                try start(transfer, continuation: continuation)
                return
            } catch {
                failure = ProbeFailure(reason: .other, message: "cannot start the probe: \(error)")
            }
        case .failure(let refused):
            failure = refused
        }
        deliver(
            transfer.failedBeforeRequest(failure, startedAt: startedAt, took: MonotonicInstant.now - since),
            continuation: continuation, engine: engine)
    }

    /// Carries out a socket probe's step: keep waiting, or deliver its result.
    private func follow(
        _ step: SocketStep, of probe: any SocketProbe, continuation: CheckedContinuation<ProbeResult, any Error>?,
        holding: CurlEasy? = nil, engine: ProbeEngine
    ) {
        switch step {
        case .wait(let descriptor, let writable, let until):
            activeSockets[ObjectIdentifier(probe)] = ActiveSocketProbe(
                probe: probe, continuation: continuation, descriptor: descriptor, writable: writable, until: until,
                holding: holding)
        case .done(let result):
            activeSockets[ObjectIdentifier(probe)] = nil
            if let holding { multi.remove(holding) }
            deliver(result, continuation: continuation, engine: engine)
        }
    }

    private func complete(_ completion: CurlMulti.Completion, engine: ProbeEngine) {
        guard let entry = active.removeValue(forKey: completion.easy) else { return }
        let result: ProbeResult
        switch entry.work {
        case .token(let request, let transfer, let startedAt, let since):
            multi.remove(entry.easy)
            guard stopDeadline == nil else {
                entry.continuation?.resume(throwing: ProbeEngine.EngineError.stopped)
                return
            }
            tokenArrived(
                request.finish(code: completion.code, now: .now), for: transfer, client: request.config, startedAt: startedAt,
                since: since, continuation: entry.continuation, engine: engine)
            return
        case .probe(let transfer):
            let measured = transfer.finish(code: completion.code)
            if measured.statusCode == 401, let client = transfer.endpoint.authorization?.oauth2, let token = transfer.bearer {
                // Revoked or expired early: the next probe fetches a new token.
                tokens.refused(token, for: client)
            }
            if stopDeadline == nil, let dialogue = transfer.queryResponseProbe(after: measured, now: .now) {
                // The connection lives while the handle stays in the multi handle.
                follow(
                    dialogue.start(startedAt: measured.startedAt, now: .now), of: dialogue, continuation: entry.continuation,
                    holding: transfer.easy, engine: engine)
                return
            }
            multi.remove(entry.easy)
            if CertificateInspection.isWanted(for: measured, code: completion.code), stopDeadline == nil,
                let inspection = try? CertificateInspection(for: transfer.endpoint, result: measured),
                (try? multi.add(inspection.easy)) != nil
            {
                active[inspection.easy.id] = Active(work: .inspection(inspection), continuation: entry.continuation)
                return
            }
            result = measured
        case .inspection(let inspection):
            multi.remove(entry.easy)
            result = inspection.finish()
        }
        deliver(result, continuation: entry.continuation, engine: engine)
    }

    private func deliver(
        _ result: ProbeResult, continuation: CheckedContinuation<ProbeResult, any Error>?, engine: ProbeEngine
    ) {
        engine.updateStatistics {
            $0.completed += 1
            $0.inFlight -= 1
        }
        noteResources(result)
        if let continuation {
            continuation.resume(returning: result)
        } else {
            schedule.finished(result.endpoint)
            onResult(result)
        }
    }

    /// A probe that could not get a socket says so in its result; the log says so once per episode.
    private func noteResources(_ result: ProbeResult) {
        let short = result.failure?.reason == .resources
        guard short != shortOfResources else { return }
        shortOfResources = short
        if short {
            logger.error(
                "probes fail for want of sockets on this node; they are recorded as reason resources, not as target failures",
                metadata: ["endpoint": "\(result.endpoint)", "error": "\(result.failure?.message ?? "")"])
        } else {
            logger.notice("probes get sockets again")
        }
    }

    /// At the stop deadline: probes still running are cut off and not recorded, since a probe cut
    /// short by shutdown measured nothing about its target.
    private func abandonActive() {
        logger.warning(
            "shutdown deadline reached; abandoning probes in flight", metadata: ["count": "\(active.count + activeSockets.count)"])
        for entry in active.values {
            multi.remove(entry.easy)
            entry.continuation?.resume(throwing: ProbeEngine.EngineError.stopped)
        }
        active.removeAll()
        for entry in activeSockets.values {
            if let holding = entry.holding { multi.remove(holding) }
            entry.continuation?.resume(throwing: ProbeEngine.EngineError.stopped)
        }
        activeSockets.removeAll()
    }

    /// How long to poll: until the next due probe or socket probe deadline (rounded up, so the
    /// loop never spins), at most 1 s.
    private func waitTime(now: MonotonicInstant) -> Duration {
        var wait = Duration.seconds(1)
        if stopDeadline == nil, let deadline = schedule.nextDeadline { wait = min(wait, deadline.duration(after: now)) }
        for entry in activeSockets.values { wait = min(wait, entry.until.duration(after: now)) }
        return wait
    }
}
