import AgentCore
import ArgumentParser

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a configuration file and exit: 0 when valid, 2 with the file:line:column of the mistake.")

    @Argument(help: "The YAML configuration file.")
    var file: String

    func run() throws {
        let config = try loadConfig(flag: file)
        print("\(file): OK, node \"\(config.agent.node)\", job \"\(config.agent.job)\", \(config.endpoints.count) endpoints")
        for endpoint in config.endpoints {
            print(
                "  \(endpoint.name): \(endpoint.method) \(endpoint.displayURL) every "
                    + "\(HumanUnits.format(endpoint.interval)), timeout \(HumanUnits.format(endpoint.timeout)), "
                    + "\(endpoint.connection.rawValue) connection" + (endpoint.proxy.display.map { ", \($0)" } ?? ""))
        }
    }
}
