import AgentCore
import Foundation
import Logging
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// The spool on a real filesystem that runs full: a 3 MiB tmpfs, mounted by the test (the tests
/// run as root in CI; elsewhere this test fails and says so). The agent must keep probing, say
/// so on `/health`, keep or count every result, resend nothing Loki already took, and recover
/// by itself when space returns.
@Suite struct FullDiskTests {
    /// A small tmpfs at a fresh directory, unmounted by `unmount()`.
    struct SmallFilesystem {
        let path: String

        init(megabytes: Int) async throws {
            path = TestEnvironment.temporaryDirectory("tmpfs")
            let mount = try await Subprocess.run(
                .name("mount"), arguments: ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path],
                output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
            guard mount.terminationStatus.isSuccess else { throw CannotMount(reason: mount.standardError) }
        }

        func unmount() async {
            _ = try? await Subprocess.run(.name("umount"), arguments: ["-l", path], output: .discarded, error: .discarded)
        }

        /// Fills the filesystem up to `leaving` free bytes with a file `free()` removes.
        func fill(leaving free: Int) throws {
            let attributes = try FileManager.default.attributesOfFileSystem(forPath: path)
            let available = (attributes[.systemFreeSize] as? Int) ?? 0
            let size = max(0, available - free)
            // Not zeros: a file of zeros may be stored sparse and take no space at all.
            #expect(FileManager.default.createFile(atPath: path + "/filler", contents: Data(repeating: 0xa5, count: size)), "the filler file")
        }

        func free() throws {
            try FileManager.default.removeItem(atPath: path + "/filler")
        }
    }

    struct CannotMount: Error, CustomStringConvertible {
        let reason: String
        var description: String { "this test mounts a 3 MiB tmpfs, which needs root (CI runs as root): \(reason)" }
    }

    @Test func aFullDiskNeitherStopsProbingNorLosesWhatItCanKeep() async throws {
        let disk = try await SmallFilesystem(megabytes: 3)
        let target = try TargetServer()
        let loki = try LokiStandIn()
        defer {
            target.shutdown()
            loki.shutdown()
        }
        var lokiConfig = LokiConfig(connection: ConnectionConfig(url: loki.pushURL, timeout: .seconds(2)), batchWait: .milliseconds(100))
        lokiConfig.minBackoff = .milliseconds(100)
        let config = Configuration(
            agent: AgentConfig(node: "full", job: "latency-agent"),
            spool: SpoolConfig(path: disk.path + "/spool", maxSize: 64 << 20, maxPending: 16 * 1024),
            endpoints: (0..<20).map { EndpointConfig(name: "e\($0)", url: target.url("/ok"), interval: .milliseconds(20), timeout: .milliseconds(200)) },
            outputs: OutputsConfig(loki: lokiConfig), server: ServerConfig(address: "127.0.0.1", port: 0))
        let agent = try Agent(config: config, stopSignals: [], logger: Logger(label: "test"))
        do {
            try await AgentServerTests.withAgent(agent, seconds: 120) { base in
                try await Task.sleep(for: .milliseconds(500))
                try disk.fill(leaving: 96 * 1024)
                let failing = try await TestEnvironment.eventually(seconds: 30, "/health to report the failing spool") {
                    let response = try await AgentServerTests.request(base + "/health")
                    return response.status == 503 ? response.body : nil
                }
                #expect(failing.contains("spool writes fail"), "\(failing)")
                // Probing goes on while the disk is full (LMDB's own free pages let a commit through
                // now and then; most fail).
                let during = target.requests(to: "/ok")
                _ = try await TestEnvironment.eventually(seconds: 10, "probing to go on") {
                    target.requests(to: "/ok") >= during + 2000 ? true : nil
                }
                try disk.free()
                _ = try await TestEnvironment.eventually(seconds: 30, "/health to recover by itself") {
                    try await AgentServerTests.request(base + "/health").status == 200 ? true : nil
                }
                // The graceful stop that follows delivers the rest: afterwards everything can be counted.
            }
        } catch {
            await disk.unmount()
            throw error
        }
        let spool = try Spool(config: config.spool, readers: [], logger: Logger(label: "t"))
        let stats = try spool.statistics(readers: [])
        let durable = stats.newest?.sequence ?? 0
        await spool.close()
        await disk.unmount()
        let made = UInt64(agent.engine.statistics.completed)
        let dropped = stats.dropped(.writeError)
        #expect(dropped > 0, "16 KiB of memory could not hold the whole episode: some results were dropped and counted")
        #expect(durable + dropped == made, "every probe made is in the spool or counted as dropped: \(durable) + \(dropped) vs \(made)")
        #expect(UInt64(target.requests(to: "/ok")) <= made)
        #expect(stats.dropped(.full) == 0 && stats.dropped(.backpressure) == 0)
        let stored = loki.streams.values.reduce(0) { $0 + $1.count }
        #expect(UInt64(stored) == durable, "Loki has every durable result")
        #expect(loki.duplicatesDropped == 0, "and nothing was sent twice: cursors stayed exact through the failing commits")
    }
}
