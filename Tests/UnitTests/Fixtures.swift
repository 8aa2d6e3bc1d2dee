@testable import AgentCore

/// Values the unit tests build their events from: results at chosen times, reader contexts at
/// chosen instants. No clocks, no sockets.
enum Fixtures {
    static let t0 = Timestamp(unixSeconds: 1_795_593_600)
    static let m0 = MonotonicInstant(nanoseconds: 1_000_000_000_000)

    static func result(
        _ endpoint: String = "api", total: Duration = .milliseconds(10), failure: FailureReason? = nil, at startedAt: Timestamp = t0,
        chainExpiry: Timestamp? = nil
    ) -> ProbeResult {
        ProbeResult(
            endpoint: endpoint, url: "https://example.com/", method: "GET", connection: .cold, startedAt: startedAt,
            timings: PhaseTimings(
                resolve: .microseconds(100), connect: .microseconds(200), processing: max(.zero, total - .microseconds(400)),
                transfer: .microseconds(100), total: total),
            statusCode: failure == .httpStatus ? 500 : (failure == nil ? 200 : 0), chainEarliestExpiry: chainExpiry,
            failure: failure.map { ProbeFailure(reason: $0, message: "x") })
    }

    static func entries(_ range: ClosedRange<UInt64>, endpoint: String = "api", start: Timestamp = t0) -> [SpoolEntry<ProbeResult>] {
        range.map { SpoolEntry(sequence: $0, value: result(endpoint, at: start + .seconds(Int64($0)))) }
    }

    static func configuration(endpoints names: [String] = ["api"]) -> Configuration {
        Configuration(agent: AgentConfig(node: "node-a"), endpoints: names.map { EndpointConfig(name: $0, url: "http://127.0.0.1/\($0)") })
    }

    static func context(
        at now: MonotonicInstant = m0, wall: Timestamp = t0, lastSequence: UInt64, configuration: Configuration = configuration(),
        random: Double = 0
    ) -> ReaderContext {
        ReaderContext(now: now, wallClock: wall, lastSequence: lastSequence, configuration: configuration, random: random)
    }

    static func answer(_ status: Int, _ body: String = "", retryAfter: Duration? = nil) -> Result<OutputResponse, TransportError> {
        .success(OutputResponse(status: status, body: body, retryAfter: retryAfter))
    }

    static let refused = Result<OutputResponse, TransportError>.failure(TransportError(reason: .connect, message: "Connection refused"))
}

extension SpoolReaderMachine.Next {
    /// A short name for assertions: "read 0+10000", "wait 15s", "send", "commit 12", "flush", "finished".
    func label(from now: MonotonicInstant = Fixtures.m0) -> String {
        switch self {
        case .start: return "start"
        case .read(let after, let limit): return "read \(after)+\(limit)"
        case .wait(let until, let orChange):
            let deadline = until.map { " \(HumanUnits.format($0 - now))" } ?? ""
            return "wait\(deadline)\(orChange ? " or change" : "")"
        case .send: return "send"
        case .commit(let commit, _): return "commit \(commit.cursor)"
        case .flush: return "flush"
        case .finished: return "finished"
        }
    }

    var request: Policy.Request? {
        if case .send(let request) = self { return request }
        return nil
    }

    var commit: ReaderCommit<Policy.Publication>? {
        if case .commit(let commit, _) = self { return commit }
        return nil
    }
}
