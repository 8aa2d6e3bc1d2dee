import AgentCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// RECORDS results wait in the spool while the gateway refuses five pushes, then accepts: the
/// real Pushgateway reader runs against a transport that fails on purpose. Prints the CPU each
/// attempt cost and how many records were folded: the backlog is folded once, not once per retry.
enum PushRetryBench {
    static func run(directory: String, records: Int) async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let settings = SpoolConfig(path: directory, maxSize: 8 << 30)
        let spool = try await BenchResults.filledSpool(settings, records: records, reader: .pushgateway, logger: logger)
        let attempts = NIOLockedValueBox<[(cpu: Double, probes: UInt64)]>([])
        let config = PushgatewayConfig(connection: ConnectionConfig(url: "http://127.0.0.1:1"), pushInterval: .seconds(3600))
        let live = LiveConfig(Configuration(
            agent: AgentConfig(node: "bench"), spool: settings,
            endpoints: (0..<1000).map { EndpointConfig(name: "endpoint-\($0)", url: "http://127.0.0.1/\($0)") }))
        let cpu0 = cpuSeconds()
        let reader = SpoolReader(
            name: .pushgateway, policy: PushgatewayPolicy(config: config, keepRemoved: .seconds(86_400)),
            retry: RetryPolicy(initial: .milliseconds(20), maximum: .milliseconds(20)), source: .results, spool: spool, live: live,
            health: ReaderHealth(), subject: "pushgateway", noun: "push",
            transport: { request in
                // What a real push renders; then the gateway says no five times.
                let body = ExpositionWriter.render(request.fold.metricFamilies(configured: request.configured))
                let count = attempts.withLockedValue { list in
                    list.append((cpuSeconds(), request.fold.probeCount))
                    return list.count
                }
                return count <= 5
                    ? .success(OutputResponse(status: 503, body: "busy"))
                    : .success(OutputResponse(status: 200, body: "\(body.count)"))
            }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: reader)], logger: logger))
        let began = MonotonicInstant.now
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            while attempts.withLockedValue({ $0.count }) < 6, MonotonicInstant.now - began < .seconds(600) {
                try await Task.sleep(for: .milliseconds(50))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let list = attempts.withLockedValue { $0 }
        var previous = cpu0
        for (index, attempt) in list.enumerated() {
            print(String(format: "push-retry records=%d attempt=%d probes_in_push=%llu cpu_s_since_previous=%.3f", records, index + 1, attempt.probes, attempt.cpu - previous))
            previous = attempt.cpu
        }
        await spool.close()
    }

    static func cpuSeconds() -> Double { Double(clock()) / Double(CLOCKS_PER_SEC) }
}
