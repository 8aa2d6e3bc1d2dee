import AgentCore
import Foundation
import Logging
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// The CLI as users run it.
@Suite struct CommandTests {
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws
        -> (status: TerminationStatus, output: String, error: String)
    {
        let binary = try TestEnvironment.agentBinary()
        var variables: [Environment.Key: String?] = [:]
        for (name, value) in environment { variables[Environment.Key(stringLiteral: name)] = value }
        let updated = Environment.inherit.updating(variables)
        let result = try await withDeadline(seconds: 30, "latency-agent \(arguments.joined(separator: " "))") {
            try await Subprocess.run(
                .path(FilePath(binary)), arguments: .init(arguments), environment: updated, input: .none,
                output: .string(limit: 16 << 20), error: .string(limit: 1 << 20))
        }
        return (result.terminationStatus, result.standardOutput, result.standardError)
    }

    /// `pushgateway prune --stale`: against the real Pushgateway, the group that stopped pushing
    /// goes and the live one stays; `--dry-run` deletes nothing; a threshold shorter than three
    /// push intervals is refused.
    @Test func pruneDeletesOnlyTheGroupsThatStoppedPushing() async throws {
        let url = try TestEnvironment.pushgatewayURL()
        let job = "prune-\(UUID().uuidString.prefix(8))"
        let configFile = TestEnvironment.temporaryDirectory("prune") + "/agent.yaml"
        try """
            agent: {node: live, job: \(job)}
            outputs: {pushgateway: {url: "\(url)", push_interval: 100ms}}
            endpoints: [{url: "http://127.0.0.1:1/"}]
            """.write(toFile: configFile, atomically: true, encoding: .utf8)
        func group(_ node: String) -> PushgatewayGroup {
            PushgatewayGroup(
                config: PushgatewayConfig(connection: ConnectionConfig(url: url)), agent: AgentConfig(node: node, job: job),
                scrubber: { SecretScrubber() }, logger: Logger(label: "prune-test"))
        }
        let families = [MetricFamily(name: "x", help: "x", kind: .gauge, samples: [.init(labels: [], value: "1")])]
        _ = try await group("gone").replace(with: families).get()
        try await Task.sleep(for: .seconds(3))
        // "live" pushes right before each command, as a live node would between them.
        _ = try await group("live").replace(with: families).get()
        let dry = try await Self.run(["pushgateway", "prune", "-c", configFile, "--stale", "2s", "--dry-run"])
        #expect(dry.status.isSuccess, "\(dry.error)")
        #expect(dry.output.contains("would delete job=\"\(job)\" instance=\"gone\"") && !dry.output.contains("\"live\""), "\(dry.output)")
        #expect(try await group("live").jobGroups().get().map(\.node) == ["gone", "live"], "a dry run deletes nothing")
        _ = try await group("live").replace(with: families).get()
        let pruned = try await Self.run(["pushgateway", "prune", "-c", configFile, "--stale", "2s"])
        #expect(pruned.status.isSuccess && pruned.output.contains("2 groups of job \"\(job)\", 1 stale"), "\(pruned.output) \(pruned.error)")
        #expect(try await group("live").jobGroups().get().map(\.node) == ["live"])
        let tooShort = try await Self.run(["pushgateway", "prune", "-c", configFile, "--stale", "200ms"])
        #expect(tooShort.status == .exited(2) && tooShort.error.contains("at least 3 push intervals"), "\(tooShort.error)")
        _ = await group("live").delete()
    }

    /// A proxy in `http_proxy` (here a closed port) is ignored: what is probed is what was named.
    @Test func environmentProxiesAreIgnored() async throws {
        let target = try TargetServer()
        defer { target.shutdown() }
        let proxy = "http://127.0.0.1:\(try closedLoopbackPort())"
        let result = try await Self.run(
            ["probe", target.url("/ok"), "--json"], environment: ["http_proxy": proxy, "HTTP_PROXY": proxy, "all_proxy": proxy])
        #expect(result.status.isSuccess, "\(result.output) \(result.error)")
        #expect(target.requests(to: "/ok") == 1)
    }

    /// With `--proxy-from-environment` (`proxy_from_environment: true` in a config) the
    /// environment's proxy is used: the origin's port is closed, so only the proxy can answer.
    @Test func environmentProxiesAreUsedOnlyWhenAskedFor() async throws {
        let proxy = try TargetServer()
        defer { proxy.shutdown() }
        let origin = "http://127.0.0.2:\(try closedLoopbackPort())/ok"
        let environment = ["http_proxy": proxy.url(""), "no_proxy": ""]
        let ignored = try await Self.run(["probe", origin, "--json"], environment: environment)
        #expect(ignored.status == .exited(1), "direct: the origin refuses")
        let used = try await Self.run(["probe", origin, "--json", "--proxy-from-environment"], environment: environment)
        #expect(used.status.isSuccess, "\(used.output) \(used.error)")
        #expect(proxy.requests(to: origin) == 1)
        let named = try await Self.run(["probe", origin, "--json", "--proxy", proxy.url("")])
        #expect(named.status.isSuccess && proxy.requests(to: origin) == 2, "\(named.output) \(named.error)")
        let bad = try await Self.run(["probe", origin, "--proxy", "ftp://127.0.0.1:1"])
        #expect(bad.status == .exited(64) && bad.error.contains("--proxy must be a proxy URL"), "\(bad.error)")
    }

    /// The probe command's request and expectation flags, as curl and blackbox users write them.
    @Test func probeFlagsSetTheRequestAndTheExpectations() async throws {
        let target = try TargetServer()
        defer { target.shutdown() }
        let posted = try await Self.run(["probe", target.url("/status/204"), "-d", "{\"q\":1}", "--expect-status", "204", "--json", "-4"])
        #expect(posted.status.isSuccess, "\(posted.output) \(posted.error)")
        #expect(posted.output.contains("\"method\":\"POST\""), "-d makes it a POST: \(posted.output)")
        let wrongStatus = try await Self.run(["probe", target.url("/ok"), "--expect-status", "3xx,404", "--json"])
        #expect(wrongStatus.status == .exited(1) && wrongStatus.output.contains("status 200 is not one of 300-399,404"), "\(wrongStatus.output)")
        let body = try await Self.run(["probe", target.url("/health/DOWN"), "--expect-body", "\"UP\"", "--json"])
        #expect(body.status == .exited(1) && body.output.contains("body_mismatch"), "\(body.output)")
        let v6 = try await Self.run(["probe", target.url("/ok"), "--ipv6", "--json"])
        #expect(v6.status == .exited(1), "the target listens on 127.0.0.1 only: \(v6.output)")
        for (arguments, message) in [
            (["--ipv4", "--ipv6"], "--ipv4 and --ipv6 exclude each other"), (["--cert", "/etc/hostname"], "--cert and --key go together"),
            (["--expect-status", "20x"], "--expect-status \"20x\" must be codes"),
            (["--cert", "/nonexistent.pem", "--key", "/etc/hostname"], "cannot read file \"/nonexistent.pem\""),
        ] {
            let refused = try await Self.run(["probe", target.url("/ok")] + arguments)
            #expect(refused.status == .exited(64) && refused.error.contains(message), "\(arguments): \(refused.error)")
        }
        #expect(target.requests(to: "/ok") == 1, "refused flags probe nothing (one /ok probe was the wrong-status one)")
    }

    /// What `check-config` refuses, `run` refuses in the same words, and neither gets as far as
    /// a raw Swift error or a probe.
    @Test(arguments: [
        ("server: {address: not-an-address}\nendpoints: [{url: \"http://127.0.0.1:1/\"}]\n", ":1:19: server.address must be an IP address"),
        ("endpoints:\n  - url: http://127.0.0.1:99999/\n", ":2:10: endpoints[0].url has port 99999"),
        ("endpoints:\n  - url: \"http://127.0.0.1/\\0x\"\n", ":2:10: endpoints[0].url contains a NUL byte"),
        ("endpoints:\n  - {url: \"http://127.0.0.1:1/\", interval: 1ms}\n", ":2:44: endpoint \"http://127.0.0.1:1/\": interval 1ms is shorter than agent.min_interval"),
        ("endpoints:\n  - url: http://127.0.0.1:1/\n\u{7}\n", ":3:1: the file contains the control character U+0007"),
    ])
    func checkConfigAndRunAgree(yaml: String, message: String) async throws {
        let directory = TestEnvironment.temporaryDirectory("agree")
        let path = directory + "/agent.yaml"
        try (yaml + "spool: {path: \(directory)/spool}\n").write(toFile: path, atomically: true, encoding: .utf8)
        let checked = try await Self.run(["check-config", path])
        let ran = try await Self.run(["run", "--config", path])
        for (name, result) in [("check-config", checked), ("run", ran)] {
            #expect(result.status == .exited(2), "\(name) exits 2: \(result.status)")
            #expect(result.error.contains(path + message), "\(name): \(result.error)")
            #expect(!result.error.contains("Error Domain") && !result.error.contains("Fatal error"), "in the agent's words")
        }
        #expect(checked.error == ran.error, "both say the same")
    }

    /// The image's HEALTHCHECK: `health` asks /health where the configuration says the server is.
    @Test func healthFollowsTheConfiguredPort() async throws {
        let binary = try TestEnvironment.agentBinary()
        let target = try TargetServer()
        defer { target.shutdown() }
        let directory = TestEnvironment.temporaryDirectory("health")
        let port = try closedLoopbackPort()
        @Sendable func config(_ server: String) throws -> String {
            let path = directory + "/agent-\(UUID().uuidString).yaml"
            try "spool: {path: \(directory)/spool}\nserver: \(server)\nendpoints: [{url: \"\(target.url("/ok"))\"}]\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let running = try config("{address: 127.0.0.1, port: \(port)}")
        let elsewhere = try config("{port: \(try closedLoopbackPort())}")
        let off = try config("{enabled: false}")
        let answers = try await withDeadline(seconds: 60, "agent with health checks") {
            try await Subprocess.run(
                .path(FilePath(binary)), arguments: ["run", "--config", running], input: .none, output: .discarded, error: .discarded
            ) { execution in
                let healthy = try await TestEnvironment.eventually(seconds: 20, "the agent healthy") {
                    let answer = try await Self.run(["health", "--config", running])
                    return answer.status.isSuccess ? answer : nil
                }
                let unreachable = try await Self.run(["health", "--config", elsewhere])
                let disabled = try await Self.run(["health", "--config", off])
                try execution.send(signal: .terminate)
                return (healthy, unreachable, disabled)
            }.closureResult
        }
        #expect(answers.0.output.contains("http://127.0.0.1:\(port)/health: healthy (HTTP 200)"), "\(answers.0.output)")
        #expect(answers.1.status == .exited(1), "nothing listens on the other port")
        #expect(answers.1.output.contains("unhealthy (connect"), "\(answers.1.output)")
        #expect(answers.2.status == .exited(2))
        #expect(answers.2.error.contains("server.enabled: false"), "\(answers.2.error)")
    }

    @Test func spoolTailPrintsAsManyLinesAsAsked() async throws {
        let directory = TestEnvironment.temporaryDirectory("tail")
        let config = SpoolConfig(path: directory + "/spool")
        let spool = try Spool(config: config, readers: [], logger: Logger(label: "t"))
        for index in 0..<2500 {
            spool.append(ProbeResult(
                endpoint: "e\(index % 3)", url: "http://127.0.0.1/", method: "GET", connection: .cold, startedAt: .now,
                timings: PhaseTimings(total: .milliseconds(1))))
        }
        try await spool.flush()
        await spool.close()
        let path = directory + "/agent.yaml"
        try "spool: {path: \(directory)/spool}\nendpoints: [{url: \"http://127.0.0.1:1/\"}]\n".write(toFile: path, atomically: true, encoding: .utf8)
        let tail = try await Self.run(["spool", "tail", "-n", "1500", "--config", path])
        #expect(tail.status.isSuccess, "\(tail.error)")
        #expect(tail.output.split(separator: "\n").count == 1500, "-n 1500 prints 1,500 lines, not the 1,000 of one page")
        let all = try await Self.run(["spool", "tail", "-n", "9999", "--config", path])
        #expect(all.output.split(separator: "\n").count == 2500)
    }
}
