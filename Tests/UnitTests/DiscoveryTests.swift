@testable import AgentCore
import Foundation
import Testing

/// DNS messages, the mesh's peer choice, target files and the discovery section, without a network.
@Suite struct DNSMessageTests {
    /// A response built byte by byte: an SRV answer whose target name is compressed, its A record
    /// in the additional section, and a CNAME.
    static func response(id: UInt16, truncated: Bool = false, code: UInt8 = 0) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), truncated ? 0x83 : 0x81, 0x80 | code, 0, 1, 0, 2, 0, 0, 0, 1]
        // Question at offset 12: _http._tcp.svc.test SRV IN
        try! DNSMessage.appendName("_http._tcp.svc.test", to: &bytes)
        bytes += [0, 33, 0, 1]
        // Answer 1: pointer to the question's name, SRV, TTL 30, priority 1 weight 2 port 8080, target "node-a" + pointer to "svc.test" (offset 12 + 6 + 5 = 23)
        bytes += [0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 30]
        let target: [UInt8] = [0, 1, 0, 2, 0x1f, 0x90, 6] + Array("node-a".utf8) + [0xc0, 23]
        bytes += [0, UInt8(target.count)] + target
        // Answer 2: an A record for the same name (ignored for SRV), 127.0.0.9
        bytes += [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 127, 0, 0, 9]
        // Additional: node-a.svc.test A 127.0.0.2 — its name is the pointer to the SRV target (offset of "node-a")
        let nodeOffset: UInt8 = 55  // header 12, question 21 + 4, answer head 10 + 2, SRV fields 6
        bytes += [0xc0, nodeOffset, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 127, 0, 0, 2]
        return bytes
    }

    @Test func aQueryIsWhatTheWireExpects() throws {
        let query = try DNSMessage.query(id: 0x1234, name: "mesh.test.", type: .a)
        #expect(query == [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4] + Array("mesh".utf8) + [4] + Array("test".utf8) + [0, 0, 1, 0, 1])
        #expect(throws: DNSMessageError.self) { try DNSMessage.query(id: 1, name: "a..b", type: .a) }
        #expect(throws: DNSMessageError.self) { try DNSMessage.query(id: 1, name: String(repeating: "x", count: 64), type: .a) }
    }

    @Test func anSRVAnswerWithCompressedNamesAndAdditionalAddressesReads() throws {
        let message = try DNSMessage(response: Self.response(id: 7))
        #expect(message.id == 7 && message.responseCode == .noError && !message.truncated)
        #expect(message.answers.first?.data == .service(priority: 1, weight: 2, port: 8080, target: "node-a.svc.test"))
        let answer = DNSAnswer(name: "_http._tcp.svc.test", type: .srv, message: message)
        #expect(answer.records.count == 1, "the A record in the answer is not an SRV record")
        #expect(answer.addresses["node-a.svc.test"] == ["127.0.0.2"])
    }

    @Test func badBytesAreErrorsNeverTraps() throws {
        let good = Self.response(id: 7)
        for length in 0..<good.count {
            _ = try? DNSMessage(response: Array(good.prefix(length)))
        }
        var loop = good
        loop[good.count - 16] = 0xc0
        loop[good.count - 15] = UInt8(good.count - 16)
        #expect(throws: DNSMessageError.self) { try DNSMessage(response: loop) }
        let nx = try DNSMessage(response: Self.response(id: 9, code: 3))
        #expect(nx.responseCode == .nameError && "\(nx.responseCode)" == "NXDOMAIN")
        #expect(try DNSMessage(response: Self.response(id: 9, truncated: true)).truncated)
    }

    @Test func resolvConfGivesServerSearchAndNdots() {
        let text = "# kubelet\nnameserver 127.0.0.53\nnameserver 127.0.0.54\nsearch ns.svc.cluster.local svc.cluster.local\noptions ndots:5\n"
        let resolver = DNSResolver.system(resolvConf: text)
        #expect(resolver?.server == DNSServer(host: "127.0.0.53", port: 53))
        #expect(resolver?.candidates(for: "agents") == ["agents.ns.svc.cluster.local", "agents.svc.cluster.local", "agents"])
        #expect(resolver?.candidates(for: "agents.ns.svc.cluster.local.") == ["agents.ns.svc.cluster.local."])
        #expect(DNSServer(parsing: "127.0.0.1:5353") == DNSServer(host: "127.0.0.1", port: 5353))
        #expect(DNSServer(parsing: "[::1]:53") == DNSServer(host: "::1", port: 53))
        #expect(DNSServer(parsing: "dns.example:53") == nil)
    }
}

@Suite struct MeshPeersTests {
    static let members = (2...41).map { "127.0.0.\($0)" }

    @Test func everyNodeProbesKPeersAndIsProbedByK() {
        var probedBy: [String: Int] = [:]
        for node in Self.members {
            let peers = MeshPeers.select(members: Self.members, selfAddress: node, count: 3)
            #expect(peers.count == 3 && !peers.contains(node) && Set(peers).count == 3)
            for peer in peers { probedBy[peer, default: 0] += 1 }
        }
        #expect(probedBy.values.allSatisfy { $0 == 3 }, "\(probedBy)")
    }

    @Test func aNodeLeavingOrJoiningChangesOnlyItsNeighboursChoices() {
        let before = Dictionary(uniqueKeysWithValues: Self.members.map { ($0, MeshPeers.select(members: Self.members, selfAddress: $0, count: 3)) })
        let gone = "127.0.0.17"
        let after = Self.members.filter { $0 != gone }
        let changed = after.filter { MeshPeers.select(members: after, selfAddress: $0, count: 3) != before[$0] }
        #expect(changed.count == 3, "only the three nodes that probed \(gone) change: \(changed)")
        #expect(changed.allSatisfy { before[$0]!.contains(gone) })
        let joined = Self.members + ["127.0.0.99"]
        #expect(Self.members.filter { MeshPeers.select(members: joined, selfAddress: $0, count: 3) != before[$0] }.count == 3)
    }

    @Test func smallMeshesAndANodeMissingFromTheAnswer() {
        #expect(MeshPeers.select(members: ["127.0.0.2"], selfAddress: "127.0.0.2", count: 3) == [])
        #expect(MeshPeers.select(members: ["127.0.0.2", "127.0.0.3"], selfAddress: "127.0.0.2", count: 3) == ["127.0.0.3"])
        let peers = MeshPeers.select(members: ["127.0.0.2", "127.0.0.3", "127.0.0.4"], selfAddress: "127.0.0.5", count: 2)
        #expect(peers.count == 2 && !peers.contains("127.0.0.5"), "a node not yet in DNS still places itself")
    }
}

@Suite struct TargetFileTests {
    @Test func prometheusFileSDInJSONAndYAML() throws {
        let json = #"[{"targets": ["127.0.0.2:8080", "[::1]:9000"], "labels": {"team": "payments", "__meta_x": "dropped"}}, {"targets": ["127.0.0.3"]}]"#
        let targets = try TargetFile.parse(json, source: "a.json")
        #expect(targets.map(\.address) == ["127.0.0.2:8080", "[::1]:9000", "127.0.0.3"])
        #expect(targets[0].labels == EndpointLabels(["team": "payments"]))
        #expect(targets[2].labels.isEmpty)
        let yaml = "- targets: [127.0.0.4:81]\n  labels: {env: prod}\n"
        #expect(try TargetFile.parse(yaml, source: "b.yaml") == [DiscoveredTarget(host: "127.0.0.4", port: 81, labels: EndpointLabels(["env": "prod"]))])
        #expect(try TargetFile.parse("", source: "empty.json") == [])
    }

    @Test func mistakesNameTheFileLineAndColumn() {
        func problem(_ text: String) -> String {
            do {
                _ = try TargetFile.parse(text, source: "/etc/t.yaml")
                return "parsed"
            } catch {
                return error.description
            }
        }
        #expect(problem("- targets: [127.0.0.2:99999]\n").contains("/etc/t.yaml:1:"))
        #expect(problem("- targets: [ok:80]\n  lables: {a: b}\n").contains("/etc/t.yaml:2:3"))
        #expect(problem("- targets: [ok:80]\n  labels: {job: x}\n").contains("reserved"))
        #expect(problem("[{\"targets\": [\"a:1\"]").contains("/etc/t.yaml:"))
    }
}

@Suite struct DiscoveryConfigTests {
    let loader = ConfigLoader(environment: ["POD_IP": "127.0.0.7"], hostname: "h")

    static let yaml = """
        agent: {node: n}
        defaults: {interval: 20s, labels: {team: core}}
        discovery:
          templates:
            web: {url: "http://{{address}}/healthz", interval: 15s, labels: {env: prod}}
          file_sd:
            - {files: ["/etc/latency-agent/targets/*.json"], template: web}
          dns_sd:
            - {names: [svc.test], type: A, port: 8080, server: "127.0.0.1:5353", template: web}
          mesh: {name: agents.test, peers: 2, server: "127.0.0.1:5353"}
        """

    @Test func aDiscoveryOnlyConfigLoadsWithTemplatesAndSources() throws {
        let config = try loader.parse(yaml: Self.yaml, source: "c.yaml")
        #expect(config.endpoints.isEmpty)
        #expect(config.discovery.sources.map(\.name) == ["file_sd[0]", "dns_sd[0]", "mesh"])
        let web = try #require(config.discovery.templates["web"])
        let endpoint = try web.endpoint(for: DiscoveredTarget(host: "127.0.0.2", port: 80, labels: EndpointLabels(["env": "dev"])), agent: config.agent).get()
        #expect(endpoint.url == "http://127.0.0.2:80/healthz" && endpoint.name == "127.0.0.2:80" && endpoint.interval == .seconds(15))
        #expect(endpoint.labels == EndpointLabels(["team": "core", "env": "dev"]), "a target's labels win over its template's")
        guard case .mesh(let mesh) = config.discovery.sources[2].kind else { Issue.record("not a mesh"); return }
        #expect(mesh.selfAddress == "127.0.0.7" && mesh.peers == 2 && mesh.lookup.port == ServerConfig.defaultPort)
        let peer = try config.discovery.sources[2].template.endpoint(for: DiscoveredTarget(host: "127.0.0.3", port: 9473), agent: config.agent).get()
        #expect(peer.name == "mesh/127.0.0.3" && peer.url == "http://127.0.0.3:9473/health")
    }

    @Test func aMeshTemplateCanProbeThePeersPortWithABareConnect() throws {
        let yaml = Self.yaml.replacingOccurrences(of: "peers: 2,", with: "peers: 2, template: tcp,")
            .replacingOccurrences(of: "  templates:\n", with: "  templates:\n    tcp: {url: \"tcp://{{address}}\"}\n")
        let config = try loader.parse(yaml: yaml, source: "c.yaml")
        let mesh = try #require(config.discovery.sources.last)
        let peer = try mesh.template.endpoint(for: DiscoveredTarget(host: "127.0.0.3", port: 9473), agent: config.agent).get()
        #expect(peer.url == "tcp://127.0.0.3:9473" && peer.kind == .tcp && peer.name == "mesh/127.0.0.3")
    }

    @Test func mistakesSayWhereAndWhat() {
        func problem(_ replacing: String, with: String, environment: [String: String] = ["POD_IP": "127.0.0.7"]) -> String {
            do {
                _ = try ConfigLoader(environment: environment, hostname: "h")
                    .parse(yaml: Self.yaml.replacingOccurrences(of: replacing, with: with), source: "c.yaml")
                return "loaded"
            } catch {
                return error.description
            }
        }
        #expect(problem("template: web}\n  dns_sd", with: "template: wbe}\n  dns_sd").contains("names template \"wbe\", which discovery.templates does not define; defined: web"))
        #expect(problem("{{address}}/healthz", with: "{{adress}}/healthz").contains("uses a placeholder other than"))
        #expect(problem("/etc/latency-agent/targets/*.json", with: "targets/*.json").contains("must be an absolute path"))
        #expect(problem("/etc/latency-agent/targets/*.json", with: "/etc/*/t.json").contains("only the file name may hold a glob"))
        #expect(problem("type: A, port: 8080, ", with: "type: A, ").contains("carry no port"))
        #expect(problem("127.0.0.1:5353\", template", with: "dns.local\", template").contains("must be a DNS server's IP address"))
        #expect(problem("x", with: "x", environment: [:]).contains("discovery.mesh.self must be this agent's own IP address"))
        #expect(problem("labels: {env: prod}", with: "labels: {job: prod}").contains("reserved"))
        #expect(problem("interval: 15s, labels", with: "interval: 1ms, labels").contains("c.yaml:5:"))
    }
}

@Suite struct ProbeKindTests {
    @Test func connectOnlyURLsAreHostAndPort() {
        #expect(ProbeKind.problem("tcp://127.0.0.1:5432") == nil && ProbeKind(url: "tcp://h:1") == .tcp)
        #expect(ProbeKind.problem("tls://[::1]:443/") == nil && ProbeKind(url: "TLS://h:1") == .tls)
        #expect(ProbeKind.problem("tcp://127.0.0.1")?.contains("needs a port") == true)
        #expect(ProbeKind.problem("tcp://127.0.0.1:80/path")?.contains("only host:port") == true)
        #expect(ProbeKind.problem("ftp://h:21")?.hasPrefix("must be a URL the agent probes: http(s)://host/path, tcp://host:port") == true)
        #expect(ProbeKind.problem("grpc://127.0.0.1:50051/my.pkg.Service") == nil && ProbeKind(url: "grpcs://h:1") == .grpc)
        #expect(ProbeKind.problem("grpc://127.0.0.1:50051/a/b")?.contains("one segment") == true)
        #expect(ProbeKind.problem("grpc://127.0.0.1")?.contains("needs a port: grpc://host:port") == true)
        #expect(ProbeKind.curlURL("grpcs://h:443/svc") == "https://h:443/grpc.health.v1.Health/Check")
        #expect(ProbeKind.curlURL("grpc://h:50051") == "http://h:50051/grpc.health.v1.Health/Check")
        #expect(ProbeKind.curlURL("tls://h:443") == "https://h:443" && ProbeKind.curlURL("tcp://h:5432") == "http://h:5432")
        #expect(EndpointConfig(name: "db", url: "tcp://h:5432").method == "TCP")
    }
}

@Suite struct DiscoveredEndpointsTests {
    static let template = TargetTemplate(
        name: "web", urlPattern: "http://{{address}}/", namePattern: "{{address}}", prototype: EndpointConfig(name: "t", url: "http://x/"),
        defaultPort: nil)
    static let agent = AgentConfig(node: "n")

    @Test func aFailingPartKeepsItsTargetsAndAGonePartTakesThemAlong() {
        var state = DiscoveredEndpoints(template: Self.template)
        let a = [DiscoveredTarget(host: "127.0.0.2", port: 80)]
        let b = [DiscoveredTarget(host: "127.0.0.3", port: 80)]
        var changed = state.apply(["a.json": .success(a), "b.json": .success(b)], agent: Self.agent)
        #expect(changed)
        #expect(state.endpoints.map(\.name) == ["127.0.0.2:80", "127.0.0.3:80"])
        changed = state.apply(["a.json": .failure(DiscoveryProblem("a.json:1:2: bad")), "b.json": .success(b)], agent: Self.agent)
        #expect(!changed, "a failing file keeps its targets")
        #expect(state.endpoints.count == 2 && state.kept == ["a.json"] && state.problems == ["a.json:1:2: bad"])
        changed = state.apply(["b.json": .success(b)], agent: Self.agent)
        #expect(changed, "a deleted file takes its targets along")
        #expect(state.endpoints.map(\.name) == ["127.0.0.3:80"] && state.problems.isEmpty)
        changed = state.apply(["b.json": .success(b + [DiscoveredTarget(host: "bad host", port: 1)])], agent: Self.agent)
        #expect(!changed && state.problems.count == 1 && state.problems[0].contains("bad host"))
    }
}

@Suite struct StaleGroupsTests {
    static let answer = """
        {"status":"success","data":[
          {"labels":{"job":"latency-agent","instance":"a"},"push_time_seconds":{"metrics":[{"labels":{},"value":"1.7e+09"}]}},
          {"labels":{"job":"latency-agent","instance":"b"},"push_time_seconds":{"metrics":[{"labels":{},"value":"1.7000036e+09"}]}},
          {"labels":{"job":"latency-agent","instance":"c","extra":"x"},"push_time_seconds":{"metrics":[{"labels":{},"value":"0"}]}},
          {"labels":{"job":"other","instance":"d"},"push_time_seconds":{"metrics":[{"labels":{},"value":"0"}]}}]}
        """

    @Test func onlyThisJobsNodeGroupsOlderThanTheThresholdAreStale() throws {
        let groups = try StaleGroups.groups(GroupingKey(job: "latency-agent"), in: Self.answer).get()
        #expect(groups.map(\.node) == ["a", "b"], "other jobs and groups with other grouping labels are not ours")
        let now = Timestamp(unixSeconds: 1_700_003_700)
        #expect(StaleGroups.stale(groups, now: now, stale: .seconds(3600)).map(\.node) == ["a"])
        #expect(StaleGroups.stale(groups, now: now, stale: .seconds(7200)).isEmpty)
        #expect(throws: StaleGroupsError.self) { try StaleGroups.groups(GroupingKey(job: "j"), in: "<html>").get() }
    }
}
