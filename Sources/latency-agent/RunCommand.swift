import AgentCore
import ArgumentParser

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Probe every configured endpoint on its schedule until SIGTERM or SIGINT.",
        discussion: """
            The configuration comes from --config, else LATENCY_AGENT_CONFIG, else \
            /etc/latency-agent/config.yaml, else the seed variables API_URL_1…N, API_TOKEN, POLL_INTERVAL.
            Each result is written as one JSON line on standard output; logs go to standard error.
            """)

    @Option(name: .shortAndLong, help: "Path of the YAML configuration file.")
    var config: String?

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = try logging.makeLogger()
        let config = try loadConfig(flag: config)
        try await Agent.run(config: config, logger: logger)
    }
}
