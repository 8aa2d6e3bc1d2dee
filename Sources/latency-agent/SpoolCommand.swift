import AgentCore
import ArgumentParser
import Foundation
import Logging

struct SpoolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spool", abstract: "Inspect the spool of a configured agent.",
        subcommands: [Stats.self, Tail.self])

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Records, bytes, oldest and newest, drops, and each output's lag.")

        @Option(name: .shortAndLong, help: "Path of the YAML configuration file.")
        var config: String?

        func run() async throws {
            let config = try loadConfig(flag: config)
            let spool = try openSpoolOrExit(config)
            let stats = try spool.statistics(readers: config.spoolReaders + config.receiverReaders)
            func time(_ time: Timestamp) -> String { time.rfc3339 }
            print("spool      \(spool.path)")
            print("records    \(stats.records)")
            print("size       \(stats.bytes / 1024) KiB of \(stats.maxBytes / 1024) KiB (\(100 * stats.bytes / max(1, stats.maxBytes))%)")
            if let oldest = stats.oldest, let newest = stats.newest {
                print("oldest     #\(oldest.sequence) at \(time(oldest.startedAt))")
                print("newest     #\(newest.sequence) at \(time(newest.startedAt))")
            }
            print("dropped    " + (stats.dropped.isEmpty ? "none" : stats.dropped.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))
            for reader in stats.readers {
                print("reader     \(reader.reader): at #\(reader.cursor), \(reader.records) records behind (\(String(format: "%.1f", reader.age.inSeconds)) s)")
            }
            await spool.close()
        }
    }

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the newest results as JSON lines.")

        @Option(name: .shortAndLong, help: "Path of the YAML configuration file.")
        var config: String?

        @Option(name: .short, help: "How many of the newest results to print first.")
        var n: Int = 10

        @Flag(name: .shortAndLong, help: "Keep printing results as the agent writes them.")
        var follow = false

        func validate() throws {
            guard n >= 0 else { throw ValidationError("-n must be 0 or more") }
        }

        func run() async throws {
            let config = try loadConfig(flag: config)
            let spool = try openSpoolOrExit(config)
            let newest = spool.lastSequence
            var cursor = newest > UInt64(n) ? newest - UInt64(n) : 0
            // The newest N first, in pages; then, with --follow, whatever the agent writes next.
            while true {
                let entries = try spool.results(after: cursor, limit: 1000)
                for entry in entries where entry.sequence <= newest || follow { print(entry.value.jsonLine(node: config.agent.node)) }
                cursor = entries.last?.sequence ?? cursor
                if entries.isEmpty || (!follow && cursor >= newest) {
                    guard follow else { break }
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
            await spool.close()
        }
    }
}

/// Opens the spool read-mostly for inspection; its writer only trims what the agent would trim.
func openSpoolOrExit(_ config: Configuration) throws -> Spool {
    var logger = Logger(label: "latency-agent")
    logger.logLevel = .warning
    do {
        return try Agent.openSpool(config, logger: logger)
    } catch {
        LineWriter.write("latency-agent: \(error)\n", to: LineWriter.standardError)
        throw ExitCode(1)
    }
}
