import AgentCore
import ArgumentParser
import Foundation
import Logging

struct PushgatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pushgateway", abstract: "Manage this node's group on the Pushgateway.",
        subcommands: [Delete.self, Prune.self])

    /// The configuration and its Pushgateway section (exit 2 without one), and how to reach this
    /// node's group. The group is made only once every argument is checked: its client starts a
    /// thread that initialises libcurl and OpenSSL, and exiting while it does crashes in OpenSSL.
    static func setUp(config flag: String?, logging: LoggingOptions) throws
        -> (config: Configuration, pushgateway: PushgatewayConfig, group: @Sendable () -> PushgatewayGroup)
    {
        let logger = try logging.makeLogger()
        let config = try loadConfig(flag: flag)
        guard let pushgateway = config.outputs.pushgateway else {
            LineWriter.write("latency-agent: the configuration has no outputs.pushgateway\n", to: LineWriter.standardError)
            throw ExitCode(2)
        }
        let scrubber = config.scrubber
        return (config, pushgateway, { PushgatewayGroup(config: pushgateway, agent: config.agent, scrubber: { scrubber }, logger: logger) })
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete this node's group (job, instance) from the Pushgateway, e.g. when retiring the node.",
            discussion: "The gateway never expires a group on its own: a removed node's last values stay until deleted.")

        @Option(name: .shortAndLong, help: "Path of the YAML configuration file.")
        var config: String?

        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let (config, _, group) = try PushgatewayCommand.setUp(config: config, logging: logging)
            let outcome = await group().delete()
            guard case .success(let response) = outcome, (200..<300).contains(response.status) else { throw ExitCode(1) }
            print("deleted job=\"\(config.agent.job)\" instance=\"\(config.agent.node)\"")
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete the groups of this job's nodes that stopped pushing (autoscaled or removed nodes).",
            discussion: "Staleness is the gateway's own push_time_seconds, so node clocks do not matter. Exits 1 if a deletion failed.")

        @Option(name: .shortAndLong, help: "Path of the YAML configuration file (its pushgateway URL and agent.job).")
        var config: String?

        @Option(help: "Delete groups last pushed longer ago than this (e.g. 1h); at least 3 push intervals.")
        var stale: String

        @Flag(help: "List what would be deleted, delete nothing.")
        var dryRun = false

        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let (config, pushgateway, makeGroup) = try PushgatewayCommand.setUp(config: config, logging: logging)
            guard let age = HumanUnits.duration(stale), age >= pushgateway.pushInterval * 3 else {
                LineWriter.write(
                    "latency-agent: --stale \"\(stale)\" must be a duration of at least 3 push intervals "
                        + "(\(HumanUnits.format(pushgateway.pushInterval * 3))), or live nodes would be deleted\n",
                    to: LineWriter.standardError)
                throw ExitCode(2)
            }
            let group = makeGroup()
            let groups: [StaleGroups.Group]
            switch await group.jobGroups() {
            case .success(let found): groups = found
            case .failure(let error):
                LineWriter.write("latency-agent: \(error)\n", to: LineWriter.standardError)
                throw ExitCode(1)
            }
            let stale = StaleGroups.stale(groups, now: .now, stale: age)
            var failed = 0
            for entry in stale {
                let pushed = Timestamp(unixNanoseconds: Int64(entry.pushedAt * 1e9)).rfc3339.prefix(19)
                if dryRun {
                    print("would delete job=\"\(config.agent.job)\" \(group.key.nodeLabel)=\"\(entry.node)\" (last push \(pushed)Z)")
                    continue
                }
                if case .success(let response) = await group.delete(node: entry.node), (200..<300).contains(response.status) {
                    print("deleted job=\"\(config.agent.job)\" \(group.key.nodeLabel)=\"\(entry.node)\" (last push \(pushed)Z)")
                } else {
                    failed += 1
                }
            }
            print("\(groups.count) groups of job \"\(config.agent.job)\", \(stale.count) stale\(dryRun ? " (dry run)" : "")")
            if failed > 0 { throw ExitCode(1) }
        }
    }
}
