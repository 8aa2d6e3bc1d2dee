import AgentCore
import ArgumentParser
import Foundation
import Logging

struct PushgatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pushgateway", abstract: "Manage this node's group on the Pushgateway.",
        subcommands: [Delete.self])

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete this node's group (job, instance) from the Pushgateway, e.g. when retiring the node.",
            discussion: "The gateway never expires a group on its own: a removed node's last values stay until deleted.")

        @Option(name: .shortAndLong, help: "Path of the YAML configuration file.")
        var config: String?

        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = try logging.makeLogger()
            let config = try loadConfig(flag: config)
            guard let pushgateway = config.outputs.pushgateway else {
                LineWriter.write("latency-agent: the configuration has no outputs.pushgateway\n", to: LineWriter.standardError)
                throw ExitCode(2)
            }
            let scrubber = config.scrubber
            let outcome = await PushgatewayGroup(config: pushgateway, agent: config.agent, scrubber: { scrubber }, logger: logger).delete()
            guard case .success(let response) = outcome, (200..<300).contains(response.status) else { throw ExitCode(1) }
            print("deleted job=\"\(config.agent.job)\" instance=\"\(config.agent.node)\"")
        }
    }
}
