@testable import AgentCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import TestSupport
import Testing

/// Discovery against real things: target files swapped the way the kubelet updates a mounted
/// ConfigMap, a real DNS server (dnsmasq) whose records change and which then goes away, and a
/// mesh of agents on 127.0.0.2–5 that find each other through one DNS name.
@Suite(.serialized) struct DiscoveryTests {
    static func load(_ yaml: String, environment: [String: String] = [:]) throws -> Configuration {
        try ConfigLoader(environment: environment, hostname: "h").parse(yaml: yaml, source: "discovery.yaml")
    }

    static func status(_ agent: Agent, host: String = "127.0.0.1") async throws -> [String: Any] {
        let port = try await TestEnvironment.eventually(seconds: 10, "server listening") { agent.serverPort }
        let text = try await TestEnvironment.get("http://\(host):\(port)/status")
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func source(_ status: [String: Any], _ name: String) -> [String: Any]? {
        (status["discovery"] as? [[String: Any]])?.first { $0["name"] as? String == name }
    }

    /// `api_requests_total{status="success"}` of one endpoint on the agent's /metrics.
    static func successes(of endpoint: String, _ agent: Agent) async throws -> Int {
        let metrics = try await TestEnvironment.get("http://127.0.0.1:\(agent.serverPort ?? 0)/metrics")
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("api_requests_total{endpoint=\"\(endpoint)\"") && $0.contains("status=\"success\"") }
        return line.flatMap { $0.split(separator: " ").last.flatMap { Int($0) } } ?? 0
    }

    /// Endpoint name → labels, as the running agent has them.
    static func endpoints(_ agent: Agent) -> [String: EndpointLabels] {
        agent.live.configuration.labelsByEndpoint
    }

    @Test func targetFilesFollowAKubeletSwapAndABrokenFileKeepsItsTargets() async throws {
        let first = try TargetServer()
        let second = try TargetServer()
        defer { first.shutdown(); second.shutdown() }
        let mount = ConfigWatchTests.KubeletMount("file-sd")
        try mount.update(["a.json": #"[{"targets": ["127.0.0.1:\#(first.port)"], "labels": {"team": "payments"}}]"#])
        let config = try Self.load(
            """
            agent: {node: files, min_interval: 10ms}
            spool: {path: \(TestEnvironment.temporaryDirectory("file-sd-spool"))}
            server: {address: 127.0.0.1, port: 0}
            endpoints:
              - {name: written, url: "\(first.url("/ok"))", interval: 100ms}
            discovery:
              templates:
                ok: {url: "http://{{address}}/ok", interval: 100ms, labels: {env: test}}
              file_sd:
                - {name: targets, files: ["\(mount.directory)/*.json"], template: ok, refresh_interval: 1h}
            """)
        let agent = try Agent(config: config, logger: Logger(label: "file-sd"))
        let a = "127.0.0.1:\(first.port)"
        let b = "127.0.0.1:\(second.port)"
        try await withRunningAgent(agent, deadline: 90) { agent in
            _ = try await TestEnvironment.eventually(seconds: 20, "the file's target probed") { () async throws -> Bool? in
                Self.endpoints(agent)[a] == EndpointLabels(["env": "test", "team": "payments"]) && first.requests(to: "/ok") > 5 ? true : nil
            }
            #expect(Self.endpoints(agent)["written"] != nil, "the written endpoints stay beside the discovered ones")
            let countBefore = try await Self.successes(of: a, agent)
            // A second file, and the first one changed: read within the debounce, not at refresh_interval (1 h).
            try mount.update([
                "a.json": #"[{"targets": ["\#(a)"], "labels": {"team": "payments"}}]"#,
                "b.json": #"- targets: ["\#(b)"]"#,
            ])
            _ = try await TestEnvironment.eventually(seconds: 20, "the new file's target probed") { () async throws -> Bool? in
                second.requests(to: "/ok") > 3 ? true : nil
            }
            #expect(try await Self.successes(of: a, agent) > countBefore, "an unchanged target's counters continue across the change")
            // A half-written file is reported with its position; its target stays.
            try mount.update(["a.json": #"[{"targets": ["\#(a)"]"#, "b.json": #"- targets: ["\#(b)"]"#])
            let broken = try await TestEnvironment.eventually(seconds: 20, "the broken file reported") { () async throws -> String? in
                let error = Self.source(try await Self.status(agent), "targets")?["last_error"] as? String
                return error?.contains("a.json:2:1: YAML syntax") == true ? error : nil
            }
            #expect(Self.endpoints(agent)[a] != nil, "a broken file keeps its last good targets (\(broken))")
            let before = first.requests(to: "/ok")
            try await Task.sleep(for: .milliseconds(500))
            #expect(first.requests(to: "/ok") > before, "and they are still probed")
            // The file removed: its targets go.
            try mount.update(["b.json": #"- targets: ["\#(b)"]"#])
            _ = try await TestEnvironment.eventually(seconds: 20, "the removed file's target gone") { () async throws -> Bool? in
                Self.endpoints(agent)[a] == nil && Self.endpoints(agent)[b] != nil ? true : nil
            }
            let status = try await Self.status(agent)
            let source = try #require(Self.source(status, "targets"))
            #expect(source["targets"] as? Int == 1 && source["last_error"] is NSNull && source["kind"] as? String == "file_sd")
            let metrics = try await TestEnvironment.get("http://127.0.0.1:\(agent.serverPort!)/metrics")
            #expect(metrics.contains(#"latency_agent_discovery_targets{source="targets",kind="file_sd"} 1"#))
            #expect(metrics.contains(#"latency_agent_discovery_refresh_failures_total{source="targets",kind="file_sd"} "#))
            #expect(metrics.contains(#"api_requests_total{endpoint="\#(b)",env="test",status="success"}"#), "labels reach the series")
        }
    }

    @Test func dnsDiscoveryFollowsRecordsAndKeepsTargetsWhileTheServerIsDown() async throws {
        let a = try TargetServer(host: "127.0.0.2")
        let b = try TargetServer(host: "127.0.0.3", port: a.port)
        let c = try TargetServer(host: "127.0.0.4")
        let v6 = try TargetServer(host: "::1")
        defer { a.shutdown(); b.shutdown(); c.shutdown(); v6.shutdown() }
        let dns = try await DNSMasq(
            hosts: ["127.0.0.2 svc.test", "127.0.0.3 svc.test", "127.0.0.4 srvnode.test", "::1 v6.test"],
            srv: ["_web._tcp.srv.test,srvnode.test,\(c.port)"])
        defer { dns.stop() }
        let config = try Self.load(
            """
            agent: {node: dns, min_interval: 10ms}
            spool: {path: \(TestEnvironment.temporaryDirectory("dns-sd-spool"))}
            server: {address: 127.0.0.1, port: 0}
            discovery:
              templates:
                ok: {url: "http://{{address}}/ok", interval: 100ms}
              dns_sd:
                - {name: a-records, names: [svc.test], type: A, port: \(a.port), server: "\(dns.address)", template: ok, refresh_interval: 200ms}
                - {name: srv-records, names: [_web._tcp.srv.test], server: "\(dns.address)", template: ok, refresh_interval: 200ms}
                - {name: aaaa-records, names: [v6.test], type: AAAA, port: \(v6.port), server: "\(dns.address)", template: ok, refresh_interval: 200ms}
            """)
        let agent = try Agent(config: config, logger: Logger(label: "dns-sd"))
        let first = "127.0.0.2:\(a.port)", second = "127.0.0.3:\(a.port)", service = "127.0.0.4:\(c.port)", ipv6 = "[::1]:\(v6.port)"
        try await withRunningAgent(agent, deadline: 90) { agent in
            _ = try await TestEnvironment.eventually(seconds: 20, "every record's target probed") { () async throws -> Bool? in
                Set(Self.endpoints(agent).keys) == [first, second, service, ipv6]
                    && a.requests(to: "/ok") > 2 && b.requests(to: "/ok") > 2 && c.requests(to: "/ok") > 2 && v6.requests(to: "/ok") > 2
                    ? true : nil
            }
            try dns.setHosts(["127.0.0.2 svc.test", "127.0.0.4 srvnode.test"])
            _ = try await TestEnvironment.eventually(seconds: 20, "a removed record's endpoint gone") { () async throws -> Bool? in
                Set(Self.endpoints(agent).keys) == [first, service, ipv6] ? true : nil
            }
            dns.stop()
            let error = try await TestEnvironment.eventually(seconds: 20, "the outage reported") { () async throws -> String? in
                Self.source(try await Self.status(agent), "a-records")?["last_error"] as? String
            }
            #expect(error.contains("did not answer") || error.contains("cannot ask"), "\(error)")
            #expect(Set(Self.endpoints(agent).keys) == [first, service, ipv6], "a DNS outage drops no endpoint")
            _ = try await TestEnvironment.eventually(seconds: 20, "the SRV source's outage reported, its target kept") { () async throws -> Bool? in
                let source = Self.source(try await Self.status(agent), "srv-records")
                return source?["targets"] as? Int == 1 && (source?["failures"] as? Int ?? 0) > 0 ? true : nil
            }
        }
    }

    @Test func aMeshOfFourAgentsProbesTwoPeersEachAndFollowsALeavingNode() async throws {
        let addresses = (2...5).map { "127.0.0.\($0)" }
        let port = try closedLoopbackPort()
        let dns = try await DNSMasq(hosts: addresses.map { "\($0) mesh.test" })
        defer { dns.stop() }
        let agents = try addresses.map { address in
            try Agent(
                config: try Self.load(
                    """
                    agent: {node: node-\(address), min_interval: 10ms}
                    spool: {path: \(TestEnvironment.temporaryDirectory("mesh-spool"))}
                    server: {address: \(address), port: \(port)}
                    defaults: {interval: 200ms}
                    endpoints: []
                    discovery:
                      mesh: {name: mesh.test, self: "${POD_IP}", peers: 2, server: "\(dns.address)", refresh_interval: 200ms}
                    """, environment: ["POD_IP": address]),
                logger: Logger(label: "mesh"))
        }
        @Sendable func meshPeers(_ agent: Agent) -> [String] {
            Self.endpoints(agent).compactMap { $0.value["target_node"] }.sorted()
        }
        let finished = NIOLockedValueBox(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for agent in agents.dropLast() {
                group.addTask {
                    try await withRunningAgent(agent, deadline: 90) { _ in
                        _ = try await TestEnvironment.eventually(seconds: 85, "the mesh test done") { finished.withLockedValue { $0 } ? true : nil }
                    }
                }
            }
            defer { finished.withLockedValue { $0 = true } }
            try await withRunningAgent(agents[3], deadline: 90) { last in
                let peers = try await TestEnvironment.eventually(seconds: 30, "every agent probing two peers") { () async throws -> [[String]]? in
                    let peers = agents.map(meshPeers)
                    return peers.allSatisfy { $0.count == 2 } ? peers : nil
                }
                var probedBy: [String: Int] = [:]
                for (index, list) in peers.enumerated() {
                    #expect(!list.contains(addresses[index]), "an agent does not probe itself")
                    for peer in list { probedBy[peer, default: 0] += 1 }
                }
                #expect(probedBy == Dictionary(uniqueKeysWithValues: addresses.map { ($0, 2) }), "every node is probed by two others")
                // The peers' /health answers: the probes succeed.
                let status = try await Self.status(last, host: addresses[3])
                let endpoints = try #require(status["endpoints"] as? [[String: Any]])
                _ = try await TestEnvironment.eventually(seconds: 20, "the mesh probes succeeding") { () async throws -> Bool? in
                    let endpoints = try #require((try await Self.status(last, host: addresses[3]))["endpoints"] as? [[String: Any]])
                    return endpoints.count == 2 && endpoints.allSatisfy { (($0["last"] as? [String: Any])?["success"] as? Bool) == true } ? true : nil
                }
                #expect(endpoints.allSatisfy { ($0["labels"] as? [String: String])?["target_node"] != nil })
            }
            // The last node left (its agent stopped) and DNS no longer lists it.
            try dns.setHosts(addresses.dropLast().map { "\($0) mesh.test" })
            let remaining = try await TestEnvironment.eventually(seconds: 30, "the mesh without the node that left") { () async throws -> [[String]]? in
                let peers = agents.dropLast().map(meshPeers)
                return peers.allSatisfy { $0.count == 2 && !$0.contains(addresses[3]) } ? peers : nil
            }
            for (index, list) in remaining.enumerated() {
                #expect(Set(list) == Set(addresses.dropLast()).subtracting([addresses[index]]), "three nodes: each probes the two others")
            }
        }
    }
}
