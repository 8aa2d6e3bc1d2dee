import AgentCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// ENDPOINTS endpoints, every second, all refused (port 1 on loopback): the `down` rule fires for
/// each at its third failure. Measures, per endpoint, the time from that probe to the webhook
/// receiving the message that names it. Default grouping (the interval), so one storm is one
/// message or a few.
enum AlertLatencyBench {
    static func run(endpoints count: Int) async throws {
        let received = NIOLockedValueBox<[(Timestamp, String)]>([])
        let receiver = try LoopbackReceiver(status: .ok, reply: "ok") { body in
            let text = String(buffer: body)
            received.withLockedValue { $0.append((Timestamp.now, text)) }
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let endpoints = (0..<count).map { index in
            EndpointConfig(name: "service-\(index)", url: "http://127.0.0.1:1/\(index)", interval: .seconds(1), timeout: .milliseconds(500))
        }
        var rules = AlertRulesConfig()
        rules.errorRateAbove = nil
        rules.uptimeBelow = nil
        rules.quantileAbove = nil
        let endpointsWithRules = endpoints.map { endpoint in
            var endpoint = endpoint
            endpoint.alertRules = rules
            return endpoint
        }
        let spoolPath = NSTemporaryDirectory() + "latency-agent-alert-bench-\(UUID().uuidString)"
        let config = Configuration(
            agent: AgentConfig(node: "bench"), spool: SpoolConfig(path: spoolPath), endpoints: endpointsWithRules,
            alerting: AlertingConfig(
                rules: rules,
                receivers: [SlackReceiverConfig(name: "bench", webhook: Secret("http://127.0.0.1:\(receiver.port)/services/T/B/X"))],
                groupingWindow: AlertingConfig.grouping(for: endpoints)))
        let agent = try Agent(config: config, stopSignals: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await agent.run() }
            let deadline = MonotonicInstant.now + .seconds(60)
            while MonotonicInstant.now < deadline {
                try await Task.sleep(for: .milliseconds(250))
                let announced = received.withLockedValue { $0 }.reduce(0) { total, message in
                    total + (Int(message.1.components(separatedBy: "🔴 ").dropFirst().first?.split(separator: " ").first ?? "0") ?? 0)
                }
                if announced >= count { break }
            }
            await agent.shutdown()
            try await group.waitForAll()
        }
        // Each endpoint's alert fires with its third failing probe: its start time, from the spool.
        let spool = try Spool(config: config.spool, readers: [], logger: logger)
        var failures: [String: [Timestamp]] = [:]
        for entry in try spool.results(after: 0, limit: 1_000_000) { failures[entry.value.endpoint, default: []].append(entry.value.startedAt) }
        await spool.close()
        let firedAt = failures.compactMapValues { $0.count >= 3 ? $0.sorted()[2] : nil }
        // The first message's arrival covers the endpoints it names or counts; later messages likewise.
        let messages = received.withLockedValue { $0 }
        var latencies: [Double] = []
        var remaining = firedAt
        for (time, body) in messages {
            let reported = Int(body.components(separatedBy: "🔴 ").dropFirst().first?.split(separator: " ").first ?? "0") ?? 0
            // Endpoints are announced in firing order: the earliest `reported` still outstanding.
            for (name, at) in remaining.sorted(by: { $0.value < $1.value }).prefix(reported) {
                latencies.append((time - at).inSeconds)
                remaining[name] = nil
            }
        }
        latencies.sort()
        guard !latencies.isEmpty else {
            print("alerts: no message received")
            return
        }
        func pct(_ q: Double) -> Double { latencies[min(latencies.count - 1, Int(q * Double(latencies.count - 1)))] }
        print(String(
            format: "alerts endpoints=%d fired=%d delivered=%d messages=%d latency_s_min=%.3f p50=%.3f p99=%.3f max=%.3f (interval 1 s, default grouping = interval)",
            count, firedAt.count, latencies.count, messages.count, latencies.first!, pct(0.5), pct(0.99), latencies.last!))
    }
}
