import AgentCore
import Foundation
import Logging
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// DNS probes against a real DNS server (dnsmasq) and ICMP echo on loopback, run by the same
/// engine thread as libcurl's transfers.
@Suite(.serialized) struct SocketProbeTests {
    func probe(_ url: String, timeout: Duration = .seconds(3), _ configure: (inout EndpointConfig) -> Void = { _ in })
        async throws -> ProbeResult
    {
        var endpoint = EndpointConfig(name: "socket", url: url, interval: .seconds(10), timeout: timeout)
        configure(&endpoint)
        return try await probeOnce(endpoint)
    }

    @Test func aDNSQueryIsTimedAndItsAnswerCheckedAgainstARealServer() async throws {
        let dns = try await DNSMasq(hosts: ["127.0.0.2 svc.test", "127.0.0.3 svc.test"])
        defer { dns.stop() }
        let url = "dns://\(dns.address)/svc.test?type=A"
        let result = try await probe(url)
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        #expect(result.method == "DNS" && result.remoteIP == "127.0.0.1")
        #expect(result.details.dns == ProbeDetails.DNS(responseCode: .noError, answers: 2, authority: 0, additional: 0))
        #expect(result.timings.connect != nil && result.timings.processing != nil && result.timings.tls == nil)
        // The same question over TCP.
        let tcp = try await probe(url + "&transport=tcp")
        #expect(tcp.failure == nil && tcp.details.dns?.answers == 2)
        // Answer rules, matched against zone-file lines.
        let allowed = try await probe(url) { $0.dns.answers.failIfNotMatches = [#"\t127\.0\.0\.[23]$"#] }
        #expect(allowed.failure == nil)
        let forbidden = try await probe(url) { $0.dns.answers.failIfMatches = [#"\t127\.0\.0\.3$"#] }
        #expect(forbidden.failure?.reason == .dnsAnswer)
        #expect(forbidden.failure?.message.contains("svc.test.\t0\tIN\tA\t127.0.0.3") == true)
        // A name the server will not answer: dnsmasq (no upstream) refuses it.
        let refused = try await probe("dns://\(dns.address)/elsewhere.test")
        #expect(refused.failure?.reason == .dnsResponseCode)
        #expect(refused.failure?.message == "\(dns.address) answered REFUSED for elsewhere.test A; valid_rcodes: NOERROR")
        let accepted = try await probe("dns://\(dns.address)/elsewhere.test") { $0.dns.validResponseCodes = [.refused] }
        #expect(accepted.failure == nil && accepted.details.dns?.responseCode == .refused)
    }

    @Test func aTruncatedAnswerIsAskedAgainOverTCP() async throws {
        // 60 A records do not fit in a 512-byte UDP answer: dnsmasq sets TC and the probe retries over TCP.
        let dns = try await DNSMasq(hosts: (1...60).map { "127.0.1.\($0) many.test" })
        defer { dns.stop() }
        let result = try await probe("dns://\(dns.address)/many.test")
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        #expect(result.details.dns?.answers == 60)
    }

    @Test func aSilentOrAbsentServerFailsAsTimeoutOrConnect() async throws {
        // A UDP socket that never answers.
        let silent = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(silent) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(silent, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(silent, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let timedOut = try await probe("dns://127.0.0.1:\(port)/svc.test", timeout: .milliseconds(300))
        #expect(timedOut.failure?.reason == .timeout)
        #expect(timedOut.failure?.message == "timed out after 300ms waiting for an answer from 127.0.0.1:\(port)")
        #expect(timedOut.timings.total >= .milliseconds(300))
        let closed = try await probe("dns://127.0.0.1:\(try closedLoopbackPort())/svc.test")
        #expect(closed.failure?.reason == .connect)
        let closedTCP = try await probe("dns://127.0.0.1:\(try closedLoopbackPort())/svc.test?transport=tcp")
        #expect(closedTCP.failure?.reason == .connect)
    }

    @Test func icmpEchoOnLoopbackCountsPacketsAndReadsTheHopLimit() async throws {
        let result = try await probe("icmp://127.0.0.1") { $0.icmp = ICMPOptions(packets: 3, packetInterval: .milliseconds(20)) }
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        #expect(result.method == "ICMP" && result.remoteIP == "127.0.0.1")
        #expect(result.details.icmp?.sent == 3 && result.details.icmp?.received == 3)
        // With ping sockets closed to every group (Debian's default "1 0"), the raw socket is used,
        // and its IP header carries the reply's TTL.
        let range = try String(contentsOfFile: "/proc/sys/net/ipv4/ping_group_range", encoding: .utf8)
        if range.split(whereSeparator: \.isWhitespace) == ["1", "0"] { #expect(result.details.icmp?.replyHopLimit == 64) }
        #expect(result.timings.connect != nil && result.timings.processing != nil)
        // The total is resolve + setup + the mean round trip, not the 40 ms spent between packets.
        #expect(result.timings.total < .milliseconds(40))
        let v6 = try await probe("icmp://[::1]")
        #expect(v6.failure == nil && v6.remoteIP == "::1" && v6.details.icmp?.received == 1)
        // A name from /etc/hosts, timed as the resolve phase.
        let named = try await probe("icmp://localhost") { $0.ipFamily = .ipv4 }
        #expect(named.failure == nil && named.remoteIP == "127.0.0.1" && named.timings.resolve != nil)
    }

    /// With `net.ipv4.ping_group_range` open (as the DaemonSet sets it for the agent's group),
    /// the kernel's unprivileged ping socket is used: it hands over no IP header, hence no hop limit.
    /// The machine's setting is restored afterwards; the suite runs serially, so no other ICMP probe sees it.
    @Test func anOpenPingGroupRangeUsesUnprivilegedPingSockets() async throws {
        let path = "/proc/sys/net/ipv4/ping_group_range"
        let saved = try String(contentsOfFile: path, encoding: .utf8)
        try "0 2147483647".write(toFile: path, atomically: false, encoding: .utf8)
        defer { try? saved.write(toFile: path, atomically: false, encoding: .utf8) }
        let result = try await probe("icmp://127.0.0.1") { $0.icmp = ICMPOptions(packets: 2, packetInterval: .milliseconds(10)) }
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        #expect(result.details.icmp == ProbeDetails.ICMP(sent: 2, received: 2, replyHopLimit: nil))
    }

    /// DNS and ICMP endpoints on the schedule, beside an HTTP one: every probe of each comes back.
    @Test func socketProbesRunOnTheScheduleBesideHTTP() async throws {
        let dns = try await DNSMasq(hosts: ["127.0.0.2 svc.test"])
        defer { dns.stop() }
        let http = try TargetServer()
        defer { http.shutdown() }
        let results = ResultBox()
        let engine = ProbeEngine(seed: "test", logger: Logger(label: "test")) { results.append($0) }
        engine.setEndpoints(
            [
                EndpointConfig(name: "dns", url: "dns://\(dns.address)/svc.test", interval: .milliseconds(100), timeout: .seconds(1)),
                EndpointConfig(name: "icmp", url: "icmp://127.0.0.1", interval: .milliseconds(100), timeout: .seconds(1)),
                EndpointConfig(name: "http", url: http.url("/ok"), interval: .milliseconds(100), timeout: .seconds(1)),
            ], scrubber: SecretScrubber())
        _ = try await TestEnvironment.eventually(seconds: 10, "three probes of each endpoint") { () -> Bool? in
            let names = results.all.map(\.endpoint)
            return ["dns", "icmp", "http"].allSatisfy { name in names.filter { $0 == name }.count >= 3 } ? true : nil
        }
        await engine.shutdown(grace: .seconds(1))
        #expect(results.all.allSatisfy { $0.failure == nil }, "\(results.all.compactMap(\.failure))")
    }

    final class ResultBox: @unchecked Sendable {
        // Why @unchecked Sendable is sound: `results` is only touched under `lock`.
        private let lock = NSLock()
        private var results: [ProbeResult] = []
        func append(_ result: ProbeResult) { lock.withLock { results.append(result) } }
        var all: [ProbeResult] { lock.withLock { results } }
    }
}
