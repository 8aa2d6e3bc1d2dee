import AgentCore
import ArgumentParser
import Foundation
import ServiceLifecycle

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Probe every configured endpoint on its schedule until SIGTERM or SIGINT.",
        discussion: """
            The configuration comes from --config, else LATENCY_AGENT_CONFIG, else \
            /etc/latency-agent/config.yaml, else the seed variables API_URL_1…N, API_TOKEN, POLL_INTERVAL.
            Every result is written to the spool first and delivered from there; --print-results also \
            writes each one as a JSON line on standard output, beside the agent's own JSON log lines. \
            SIGTERM/SIGINT stop it gracefully; SIGHUP (or POST /-/reload with server.enable_reload) reloads the \
            configuration.
            """)

    @Option(name: .shortAndLong, help: "Path of the YAML configuration file.")
    var config: String?

    @Flag(help: "Also print every result as a JSON line on standard output.")
    var printResults = false

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = try logging.makeLogger()
        let loader = ConfigLoader()
        let source: ConfigLoader.Source
        let config: Configuration
        do {
            source = try loader.resolveSource(flag: self.config)
            config = try loader.load(source)
        } catch {
            LineWriter.write("latency-agent: configuration error: \(error)\n", to: LineWriter.standardError)
            throw ExitCode(2)
        }
        do {
            let reload: @Sendable () throws(ConfigError) -> Configuration = { () throws(ConfigError) in try loader.load(source) }
            try await Agent(config: config, loadConfig: reload, printResults: printResults, logger: logger).run()
        } catch let error as AgentError {
            LineWriter.write("latency-agent: \(error)\n", to: LineWriter.standardError)
            throw ExitCode(1)
        } catch let error as ServiceGroupError {
            LineWriter.write("latency-agent: \(error)\n", to: LineWriter.standardError)
            throw ExitCode(1)
        }
    }
}
