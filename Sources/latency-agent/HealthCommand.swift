import AgentCore
import ArgumentParser
import Foundation
import Logging

/// The container health check: asks the running agent's `/health` at the address and port its
/// configuration gives, so a changed `server.port` needs no change to the image.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Ask the running agent's /health, at the address and port its configuration names.",
        discussion: """
            Examples:
              latency-agent health --config /etc/latency-agent/config.yaml
            Exit status: 0 when /health answers 200, 1 otherwise, 2 when the configuration is wrong.
            """)

    @Option(name: .shortAndLong, help: "The configuration file (default: as for run).")
    var config: String?

    @Option(help: "How long to wait for the answer.")
    var timeout: String = "3s"

    func validate() throws {
        guard (HumanUnits.duration(timeout) ?? .zero) > .zero else { throw ValidationError("--timeout \"\(timeout)\" is not a duration") }
    }

    func run() async throws {
        let configuration = try loadConfig(flag: config)
        guard let server = configuration.server else {
            LineWriter.write("latency-agent: the configuration turns the server off (server.enabled: false): there is no /health to ask\n",
                to: LineWriter.standardError)
            throw ExitCode(2)
        }
        let timeout = HumanUnits.duration(timeout)!
        let url = server.localURL(path: "/health")
        let endpoint = EndpointConfig(name: "health", url: url, interval: timeout, timeout: timeout, expectedStatus: StatusCodeSet([200...200]))
        var logger = Logger(label: "latency-agent")
        logger.logLevel = .warning
        let engine = ProbeEngine(seed: "health", logger: logger) { _ in }
        let result = try await engine.probe(endpoint, scrubber: SecretScrubber(secrets: []))
        await engine.shutdown(grace: .seconds(1))
        let answer = result.failure.map { "\($0.reason.rawValue): \($0.message)" } ?? "HTTP \(result.statusCode)"
        print("\(url): \(result.succeeded ? "healthy" : "unhealthy") (\(answer))")
        if !result.succeeded { throw ExitCode(1) }
    }
}
