import AgentCore
import Foundation
import NIOConcurrencyHelpers

/// The real components `scripts/test.sh` starts before `swift test`: a test that needs one and
/// does not find it fails with how to get it, never skips.
public enum TestEnvironment {
    public struct Missing: Error, CustomStringConvertible {
        public let variable: String
        public var description: String {
            "\(variable) is not set: run the tests with scripts/test.sh, which installs and starts the real "
                + "Pushgateway and Prometheus on free loopback ports and builds the agent binary"
        }
    }

    public static func require(_ variable: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else { throw Missing(variable: variable) }
        return value
    }

    public static func pushgatewayURL() throws -> String { try require("PUSHGATEWAY_URL") }
    public static func prometheusURL() throws -> String { try require("PROMETHEUS_URL") }
    public static func agentBinary() throws -> String { try require("LATENCY_AGENT_BIN") }
    public static func promtool() throws -> String { try require("PROMTOOL") }

    /// A fresh temporary directory for a spool.
    public static func temporaryDirectory(_ name: String) -> String {
        let path = NSTemporaryDirectory() + "latency-agent-\(name)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A GET answered with 2xx, as text; the client is the agent's own output client.
    public static func get(_ url: String) async throws -> String {
        let client = OutputHTTPClient(
            name: "test-get", connection: ConnectionConfig(url: url, timeout: .seconds(5)), responseBodyLimit: 256 << 20,
            scrubber: { SecretScrubber() })
        let response = try await client.send(OutputRequest(method: "GET", url: url)).get()
        guard (200..<300).contains(response.status) else {
            throw HTTPStatusError(url: url, status: response.status, body: response.body)
        }
        return response.body
    }

    public struct HTTPStatusError: Error, CustomStringConvertible {
        public let url: String
        public let status: Int
        public let body: String
        public var description: String { "GET \(url) answered \(status): \(body.prefix(300))" }
    }

    /// Polls `check` every 100 ms until it returns a value, failing after `seconds` with the last
    /// error `check` threw, so a timeout says what was still wrong.
    public static func eventually<T: Sendable>(
        seconds: Double, _ what: String, _ check: @escaping @Sendable () async throws -> T?
    ) async throws -> T {
        let lastError = NIOLockedValueBox<String?>(nil)
        do {
            return try await withDeadline(seconds: seconds, what) {
                while true {
                    do {
                        if let value = try await check() { return value }
                    } catch {
                        lastError.withLockedValue { $0 = "\(error)" }
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        } catch let error as DeadlineExceeded {
            guard let last = lastError.withLockedValue({ $0 }) else { throw error }
            throw DeadlineExceeded(what: "\(what) (last error: \(last))", seconds: error.seconds)
        }
    }
}
