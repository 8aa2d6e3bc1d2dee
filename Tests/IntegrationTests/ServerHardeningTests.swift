import AgentCore
import Foundation
import Logging
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// The agent's own server under hostile clients and a tight open-file limit, run as the real
/// binary under `prlimit`: idle connections can neither lock `/health` out nor take the prober's
/// sockets, a probe that cannot get a socket says so, and reloads over HTTP are opt-in and merged.
@Suite struct ServerHardeningTests {
    /// Runs the binary with `config` under an open-file limit, calls `body` with the server's base
    /// URL and the process id once `/health` answers, stops it with SIGTERM and returns its log lines.
    static func runAgent(
        config: String, directory: String, openFiles: Int, port: Int, _ body: @escaping @Sendable (String, Int32) async throws -> Void
    ) async throws -> String {
        let binary = try TestEnvironment.agentBinary()
        let path = directory + "/agent.yaml"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let base = "http://127.0.0.1:\(port)"
        let result = try await withDeadline(seconds: 90, "the agent under prlimit") {
            try await Subprocess.run(
                .name("prlimit"), arguments: ["--nofile=\(openFiles):\(openFiles)", "--", binary, "run", "--config", path],
                input: .none, output: .string(limit: 16 << 20), error: .string(limit: 1 << 20)
            ) { execution -> (any Error)? in
                do {
                    _ = try await TestEnvironment.eventually(seconds: 20, "the agent's server") {
                        (try? await AgentServerTests.request(base + "/health")) != nil ? true : nil
                    }
                    try await body(base, execution.processIdentifier.value)
                } catch {
                    // Stop the agent and fail with its own words: what it logged says why.
                    try? execution.send(signal: .terminate)
                    return error
                }
                try execution.send(signal: .terminate)
                return nil
            }
        }
        if let failure = result.closureResult {
            let log = result.standardOutput.split(separator: "\n").suffix(15).joined(separator: "\n")
            Issue.record("\(failure)\nthe agent exited \(result.terminationStatus); its last log lines:\n\(log)\n\(result.standardError)")
            throw failure
        }
        #expect(result.terminationStatus.isSuccess, "\(result.standardError)")
        return result.standardOutput
    }

    static func reasons(in spool: String) throws -> [String: Int] {
        let store = try Spool(config: SpoolConfig(path: spool), readers: [], logger: Logger(label: "t"))
        defer { Task { await store.close() } }
        var counts: [String: Int] = [:]
        for entry in try store.results(after: 0, limit: 1_000_000) { counts[entry.value.failure?.reason.rawValue ?? "ok", default: 0] += 1 }
        return counts
    }

    @Test func idleConnectionsCanNeitherLockHealthOutNorStarveTheProber() async throws {
        let target = try TargetServer()
        defer { target.shutdown() }
        let directory = TestEnvironment.temporaryDirectory("idle-flood")
        let port = try closedLoopbackPort()
        let config = """
            agent: {node: flood, min_interval: 10ms}
            spool: {path: \(directory)/spool}
            server: {address: 127.0.0.1, port: \(port), idle_timeout: 2s}
            endpoints:
              - {name: a, url: "\(target.url("/ok"))", interval: 250ms}
              - {name: b, url: "\(target.url("/delay/20"))", interval: 250ms}
            """
        _ = try await Self.runAgent(config: config, directory: directory, openFiles: 256, port: port) { base, _ in
            let flood = IdleConnections(count: 400, port: port)
            defer { flood.close() }
            #expect(flood.descriptors.count == 400, "the kernel accepted every connection; the server decides what to keep")
            let health = try await AgentServerTests.request(base + "/health")
            #expect(health.status == 200 && health.body == "ok\n", "/health answers through the flood")
            let probesBefore = target.requests(to: "/ok")
            _ = try await TestEnvironment.eventually(seconds: 10, "probing through the flood") {
                target.requests(to: "/ok") >= probesBefore + 10 ? true : nil
            }
            let closed = try await TestEnvironment.eventually(seconds: 15, "idle connections to be closed") {
                flood.closedByPeer >= 395 ? flood.closedByPeer : nil
            }
            #expect(closed >= 395, "the server closed the idle connections (cap, then idle timeout)")
        }
        let reasons = try Self.reasons(in: directory + "/spool")
        // Starvation shows as `connect` or `resources`; a rare timeout on a loaded machine is not it.
        #expect(reasons["connect"] == nil && reasons["resources"] == nil, "no probe lost its socket to idle clients: \(reasons)")
        #expect(Double(reasons["ok", default: 0]) >= 0.9 * Double(reasons.values.reduce(0, +)) && reasons["ok", default: 0] > 20, "\(reasons)")
    }

    @Test func aProbeWithoutASocketFailsAsResourcesNotConnect() async throws {
        let target = try TargetServer()
        defer { target.shutdown() }
        let directory = TestEnvironment.temporaryDirectory("no-sockets")
        let port = try closedLoopbackPort()
        let endpoints = (0..<60).map { "  - {name: e\($0), url: \"\(target.url("/delay/3000"))\", interval: 5s, timeout: 4s}" }
            .joined(separator: "\n")
        let config = """
            agent: {node: starved}
            spool: {path: \(directory)/spool}
            server: {address: 127.0.0.1, port: \(port)}
            endpoints:
            \(endpoints)
            """
        // 40 descriptors: about 20 for the agent itself, 8 kept from probes, the rest for 60
        // endpoints that would hold 36 sockets at any time (3 s of every 5 s).
        let logs = try await Self.runAgent(config: config, directory: directory, openFiles: 40, port: port) { base, pid in
            _ = try await TestEnvironment.eventually(seconds: 20, "probes to run") { target.requests(to: "/delay/3000") >= 10 ? true : nil }
            var mostOpen = 0
            for _ in 0..<30 {
                mostOpen = max(mostOpen, (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0)
                try await Task.sleep(for: .milliseconds(50))
            }
            // Probes stop at 32; the agent's own connections may use the kept ones (without the
            // reserve the probes alone took all 40).
            #expect(mostOpen <= 36, "probes leave the kept descriptors free however many want sockets: at most \(mostOpen) open")
            let health = try await AgentServerTests.request(base + "/health")
            #expect(health.status == 200)
        }
        let reasons = try Self.reasons(in: directory + "/spool")
        #expect(reasons["resources", default: 0] > 0, "some probes found no descriptor: \(reasons)")
        #expect(reasons["connect"] == nil, "and none of them reads as a target's failure: \(reasons)")
        let starts = logs.components(separatedBy: "probes fail for want of sockets on this node").count - 1
        let ends = logs.components(separatedBy: "probes get sockets again").count - 1
        #expect(starts >= 1 && starts - ends <= 1, "logged once per episode: \(starts) starts, \(ends) ends")
        #expect(logs.contains("cannot open a socket: Too many open files"))
    }

    @Test func reloadOverHTTPIsOptInAndABurstIsOneReload() async throws {
        let target = try TargetServer()
        defer { target.shutdown() }
        let directory = TestEnvironment.temporaryDirectory("reload-burst")
        let port = try closedLoopbackPort()
        let off = """
            agent: {node: burst}
            spool: {path: \(directory)/spool}
            server: {address: 127.0.0.1, port: \(port)}
            endpoints: [{name: a, url: "\(target.url("/ok"))", interval: 1s}]
            """
        _ = try await Self.runAgent(config: off, directory: directory, openFiles: 1024, port: port) { base, _ in
            let refused = try await AgentServerTests.request(base + "/-/reload", method: "POST")
            #expect(refused.status == 403 && refused.body.contains("server.enable_reload: true"), "\(refused.body)")
        }
        let on = off.replacingOccurrences(of: "port: \(port)}", with: "port: \(port), enable_reload: true}")
        let logs = try await Self.runAgent(config: on, directory: directory, openFiles: 1024, port: port) { base, _ in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for client in 0..<10 {
                    group.addTask {
                        var ok = 0
                        for call in 0..<300 {
                            // Halfway through one caller changes the file: that change is applied once.
                            if client == 0, call == 150 {
                                try on.replacingOccurrences(of: "interval: 1s", with: "interval: 2s").write(
                                    toFile: directory + "/agent.yaml", atomically: true, encoding: .utf8)
                            }
                            if try await AgentServerTests.request(base + "/-/reload", method: "POST").status == 200 { ok += 1 }
                        }
                        return ok
                    }
                }
                var accepted = 0
                for try await count in group { accepted += count }
                #expect(accepted == 3000, "every caller is answered")
            }
        }
        let reloads = logs.components(separatedBy: "\"msg\":\"configuration reloaded\"").count - 1
        #expect(reloads == 1, "3,000 calls, one change: one log line, not 3,000 (\(reloads))")
        #expect(logs.contains("\"changed\":\"1\""), "the change was applied")
    }
}
