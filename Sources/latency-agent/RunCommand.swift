import AgentCore
import ArgumentParser
import Foundation

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Probe every configured endpoint on its schedule until SIGTERM or SIGINT.",
        discussion: """
            The configuration comes from --config, else LATENCY_AGENT_CONFIG, else \
            /etc/latency-agent/config.yaml, else the seed variables API_URL_1…N, API_TOKEN, POLL_INTERVAL.
            Every result is written to the spool first and pushed from there; --print-results also \
            writes each one as a JSON line on standard output. Logs go to standard error.
            """)

    @Option(name: .shortAndLong, help: "Path of the YAML configuration file.")
    var config: String?

    @Flag(help: "Also print every result as a JSON line on standard output.")
    var printResults = false

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = try logging.makeLogger()
        let config = try loadConfig(flag: config)
        do {
            try await Agent(config: config, printResults: printResults, logger: logger).run()
        } catch let error as AgentError {
            LineWriter.write("latency-agent: \(error)\n", to: STDERR_FILENO)
            throw ExitCode(1)
        }
    }
}
