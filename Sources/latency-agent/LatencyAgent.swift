import AgentCore
import ArgumentParser
import Foundation
import Logging

@main
struct LatencyAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency-agent",
        abstract: "Probes HTTP endpoints and pushes what it measures.",
        discussion: """
            Examples:
              latency-agent run --config /etc/latency-agent/config.yaml
              API_URL_1=https://example.com/health latency-agent run
              latency-agent probe https://example.com/ --count 3
              latency-agent check-config config.yaml
              latency-agent spool stats --config config.yaml
              latency-agent spool tail -n 20 --follow
            """,
        version: AgentVersion.current,
        subcommands: [
            RunCommand.self, ProbeCommand.self, CheckConfigCommand.self, SpoolCommand.self, PushgatewayCommand.self, HealthCommand.self,
        ],
        defaultSubcommand: nil
    )
}

/// Options every command that logs shares.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env LATENCY_AGENT_LOG_LEVEL).")
    var logLevel: String?

    func makeLogger() throws -> Logger {
        let text = logLevel ?? ProcessInfo.processInfo.environment["LATENCY_AGENT_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ValidationError("unknown log level \"\(text)\"; use trace, debug, info, notice, warning, error or critical")
        }
        // JSON lines on standard output, where container runtimes and Promtail collect them.
        LoggingSystem.bootstrap { label in
            var handler = JSONLogHandler(label: label, fileDescriptor: LineWriter.standardOutput)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "latency-agent")
    }
}

/// Loads the configuration, or prints where it is wrong and exits with status 2.
func loadConfig(flag: String?) throws -> Configuration {
    let loader = ConfigLoader()
    do {
        return try loader.load(loader.resolveSource(flag: flag))
    } catch {
        LineWriter.write("latency-agent: configuration error: \(error)\n", to: LineWriter.standardError)
        throw ExitCode(2)
    }
}
