/// A probe the agent runs on its own sockets (DNS, ICMP), or on a connection libcurl opened
/// (a TCP dialogue), in the same event loop as libcurl's
/// transfers: the loop adds the socket it waits on to `curl_multi_poll` and calls `advance`
/// when it is ready or the probe's deadline passes. No thread or task per probe.
///
/// Lives on the probe thread only, like the sockets it owns.
protocol SocketProbe: AnyObject {
    var endpoint: EndpointConfig { get }
    /// Starts a probe; the first step is what to wait for, or already the result.
    func start(startedAt: Timestamp, now: MonotonicInstant) -> SocketStep
    /// Goes on after the awaited socket became ready, or `now` reached the wait's deadline.
    func advance(now: MonotonicInstant) -> SocketStep
}

enum SocketStep {
    /// Call `advance` when the socket `descriptor` is readable (or writable), or at `until` at
    /// the latest. The probe keeps the socket open while it waits.
    case wait(descriptor: Int32, writable: Bool, until: MonotonicInstant)
    case done(ProbeResult)
}

/// The bookkeeping every socket probe shares: its clock marks and how its result is made.
struct SocketProbeClock {
    let startedAt: Timestamp
    let start: MonotonicInstant
    let deadline: MonotonicInstant

    init(startedAt: Timestamp, now: MonotonicInstant, timeout: Duration) {
        self.startedAt = startedAt
        self.start = now
        self.deadline = now + timeout
    }

    /// A result with `timings` and the time since the start as total; `failure` nil on success.
    func result(
        _ endpoint: EndpointConfig, checker: ResponseChecker, now: MonotonicInstant, timings: (inout PhaseTimings) -> Void,
        remoteIP: String?, failure: ProbeFailure?, details: ProbeDetails, total: Duration? = nil
    ) -> ProbeResult {
        var phases = PhaseTimings(total: total ?? (now - start))
        timings(&phases)
        var result = ProbeResult(
            endpoint: endpoint.name, url: endpoint.displayURL, method: endpoint.method, connection: endpoint.connection,
            startedAt: startedAt, timings: phases, remoteIP: remoteIP, failure: failure, details: details)
        if result.failure == nil {
            result.failure = checker.failure(body: [], total: phases.total)
        }
        return result
    }
}

extension SocketFailure {
    /// The failure class of a socket error: the node's shortage, a refusal or unreachable
    /// network (`connect`), or anything else.
    var probeFailure: ProbeFailure {
        let reason: FailureReason = isLocal ? .resources : (isRefused || isUnreachable) ? .connect : .other
        return ProbeFailure(reason: reason, message: description)
    }
}
