@testable import AgentCore
import Testing

/// What each probe kind learns beyond timings: stored in the spool and the fold, rendered in
/// blackbox_exporter's names, and the gRPC health check's wire format.
@Suite struct ProbeDetailsTests {
    static let full = ProbeDetails(
        tlsVersion: "TLS 1.3", tlsCipher: "TLS_AES_256_GCM_SHA384", contentLength: 42,
        dns: .init(responseCode: .nameError, answers: 0, authority: 1, additional: 2),
        icmp: .init(sent: 3, received: 2, replyHopLimit: 64), grpc: .init(statusCode: 0, servingStatus: .notServing))

    func payload(_ result: ProbeResult) -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        result.encodePayload(into: &writer)
        return writer.bytes
    }

    func decode(_ bytes: [UInt8], version: UInt8) throws -> ProbeResult {
        try ByteReader.reading(bytes) { (reader: inout ByteReader) throws(ByteReader.Malformed) in
            try ProbeResult(payload: &reader, version: version, startedAt: Fixtures.t0)
        }
    }

    @Test func everyPartSurvivesTheSpoolAndAVersionOneRecordStillReads() throws {
        var result = Fixtures.result("api", total: .milliseconds(5), at: Fixtures.t0)
        result.details = Self.full
        #expect(try decode(payload(result), version: 2) == result)
        var bare = result
        bare.details = ProbeDetails()
        let bytes = payload(bare)
        #expect(bytes.last == 0, "no details cost one byte, the end tag")
        // A record of the previous release: version 1, the same payload without the details.
        #expect(try decode(Array(bytes.dropLast()), version: 1) == bare)
        #expect(throws: ByteReader.Malformed.self) { try decode(bytes, version: 1) }
        #expect(throws: ByteReader.Malformed.self) { try decode(Array(bytes.dropLast()) + [9, 0], version: 2) }
    }

    @Test func theFoldKeepsTheDetailsAndRendersBlackboxNames() throws {
        var dns = Fixtures.result("resolver", total: .milliseconds(2), at: Fixtures.t0)
        dns.method = "DNS"
        dns.timings.connect = .microseconds(50)
        dns.timings.processing = .microseconds(900)
        dns.details.dns = .init(responseCode: .noError, answers: 2, authority: 0, additional: 1)
        var grpc = Fixtures.result("health", total: .milliseconds(3), at: Fixtures.t0)
        grpc.method = "GRPC"
        grpc.details.grpc = .init(statusCode: 0, servingStatus: .serving)
        var https = Fixtures.result("web", total: .milliseconds(4), at: Fixtures.t0)
        https.timings.tls = .milliseconds(1)
        https.chainEarliestExpiry = Timestamp(unixSeconds: 1_900_000_000)
        https.details.tlsVersion = "TLS 1.3"
        https.details.contentLength = 120
        var fold = MetricFold(buckets: [0.05], uptimeWindow: .seconds(60))
        for result in [dns, grpc, https] { fold.add(result) }
        #expect(MetricFold(decoding: fold.encoded(), like: MetricFold(buckets: [0.05], uptimeWindow: .seconds(60))) == fold)
        let text = ExpositionWriter.renderText(fold.metricFamilies())
        for line in [
            #"probe_dns_answer_rrs{endpoint="resolver"} 2"#, #"probe_dns_additional_rrs{endpoint="resolver"} 1"#,
            #"probe_dns_duration_seconds{endpoint="resolver",phase="request"} 0.000900"#,
            #"probe_dns_duration_seconds{endpoint="resolver",phase="connect"} 0.000050"#,
            #"probe_grpc_status_code{endpoint="health"} 0"#,
            #"probe_grpc_healthcheck_response{endpoint="health",serving_status="SERVING"} 1"#,
            #"probe_grpc_healthcheck_response{endpoint="health",serving_status="NOT_SERVING"} 0"#,
            #"probe_tls_version_info{endpoint="web",version="TLS 1.3"} 1"#,
            #"probe_ssl_last_chain_expiry_timestamp_seconds{endpoint="web"} 1900000000"#,
            #"probe_http_content_length{endpoint="web"} 120"#,
        ] {
            #expect(text.contains(line + "\n"), "\(line)")
        }
        // HTTP's own gauges only for HTTP endpoints: a DNS probe has no status code or HTTP version.
        #expect(!text.contains(#"probe_http_status_code{endpoint="resolver"}"#))
        #expect(!text.contains(#"probe_http_version{endpoint="health"}"#))
        #expect(!text.contains("probe_icmp_"), "a kind nobody probes renders nothing")
    }

    @Test func theHealthCheckSpeaksGRPCFraming() {
        #expect(GRPCHealthCheck.requestBody(service: "") == [0, 0, 0, 0, 0])
        #expect(GRPCHealthCheck.requestBody(service: "ab") == [0, 0, 0, 0, 4, 0x0a, 2, 0x61, 0x62])
        #expect(GRPCHealthCheck.servingStatus(fromBody: [0, 0, 0, 0, 2, 0x08, 1]) == .serving)
        #expect(GRPCHealthCheck.servingStatus(fromBody: [0, 0, 0, 0, 0]) == .unknown, "proto3 leaves UNKNOWN out")
        // An unknown field before the status is stepped over; a cut-off frame is not a reply.
        #expect(GRPCHealthCheck.servingStatus(fromBody: [0, 0, 0, 0, 5, 0x12, 1, 0x7a, 0x08, 2]) == .notServing)
        #expect(GRPCHealthCheck.servingStatus(fromBody: [0, 0, 0, 0, 9, 0x08]) == nil)
        #expect(GRPCHealthCheck.service(fromPath: "/my.pkg.Svc") == "my.pkg.Svc" && GRPCHealthCheck.service(fromPath: "") == "")
        #expect(GRPCHealthCheck.service(fromPath: "/a/b") == nil)
        let missing = GRPCHealthCheck.outcome(httpStatus: 200, grpcStatus: nil, grpcMessage: nil, body: [], service: "")
        #expect(missing.failure?.reason == .grpcStatus)
        let denied = GRPCHealthCheck.outcome(
            httpStatus: 200, grpcStatus: "7", grpcMessage: "no%20access", body: [], service: "x")
        #expect(denied.failure?.message == "health check of service x ended PERMISSION_DENIED (7): no access")
        #expect(GRPCHealthCheck.outcome(httpStatus: 404, grpcStatus: nil, grpcMessage: nil, body: [], service: "").failure?.reason == .httpStatus)
    }
}

/// The pure parts of the socket probes: DNS URLs, record lines and their rules, ICMP echo bytes.
@Suite struct SocketProbeCodecTests {
    @Test func dnsURLsNameServerNameTypeAndTransport() throws {
        let query = try DNSQuery(url: "dns://127.0.0.1:5353/svc.test?type=AAAA&transport=tcp")
        #expect(query == DNSQuery(server: DNSServer(host: "127.0.0.1", port: 5353), name: "svc.test", type: .aaaa, transport: .tcp))
        #expect(try DNSQuery(url: "dns://[::1]/a.test").server == DNSServer(host: "::1", port: 53))
        #expect(try DNSQuery(url: "dns:///a.test").server == nil, "no server: the node's own resolver")
        #expect(DNSQuery.problem("dns://127.0.0.1/a.test?class=CH")?.contains("takes type= and transport=") == true)
        #expect(DNSQuery.problem("dns://127.0.0.1/")?.contains("it is empty") == true)
        #expect(ProbeKind.problem("dns:///a.test") == nil && ProbeKind.problem("icmp://[::1]") == nil)
    }

    @Test func answerRulesReadRecordsAsZoneLines() {
        let record = DNSRecord(name: "svc.test", type: DNSRecordType.a.rawValue, ttl: 0, data: .address("127.0.0.2"))
        #expect(record.zoneLine == "svc.test.\t0\tIN\tA\t127.0.0.2")
        let txt = DNSRecord(name: "t.test", type: DNSRecordType.txt.rawValue, ttl: 5, data: .other(type: 16, bytes: [2, 104, 105]))
        #expect(txt.zoneLine == "t.test.\t5\tIN\tTXT\t\"hi\"")
        let lines = [record.zoneLine, "svc.test.\t0\tIN\tA\t127.0.0.3"]
        #expect(DNSCheck.RecordRules(failIfNotMatches: [#"127\.0\.0\.[23]$"#]).violation(lines) == nil)
        #expect(DNSCheck.RecordRules(failIfNotMatches: [#"127\.0\.0\.2$"#]).violation(lines)?.contains("127.0.0.3") == true)
        #expect(DNSCheck.RecordRules(failIfMatches: [#"\t127\.0\.0\.3$"#]).violation(lines) != nil)
        #expect(DNSCheck.RecordRules(failIfAllMatch: ["IN\tA"]).violation(lines) == "every answer matches fail_if_all_match_regexp IN\tA")
        #expect(DNSCheck.RecordRules(failIfNoneMatches: ["AAAA"]).violation(lines) != nil)
        #expect(DNSCheck.RecordRules(failIfNoneMatches: ["AAAA"]).violation([])?.hasPrefix("no answer records") == true)
    }

    @Test func echoRequestsCarryAValidChecksumAndRepliesAreMatched() {
        let request = ICMPEcho.request(identifier: 0x1234, sequence: 2, ipv6: false)
        #expect(request[0] == 8 && ICMPEcho.checksum(request) == 0, "a message with its checksum sums to zero")
        #expect(ICMPEcho.request(identifier: 1, sequence: 1, ipv6: true)[0] == 128)
        var reply = request
        reply[0] = 0
        #expect(ICMPEcho.reply(in: reply, ipv6: false, raw: false)?.sequence == 2)
        // A raw IPv4 socket hands over the IP header (TTL at byte 8) before the ICMP message.
        let header: [UInt8] = [0x45, 0, 0, 36, 0, 0, 0, 0, 61, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]
        let raw = ICMPEcho.reply(in: header + reply, ipv6: false, raw: true)
        #expect(raw?.identifier == 0x1234 && raw?.hopLimit == 61)
        #expect(ICMPEcho.reply(in: header + request, ipv6: false, raw: true) == nil, "our own request, seen on loopback, is no reply")
        #expect(ICMPProbe.hostsEntry("db.test", in: "# x\n::1 db.test\n127.0.0.5\tdb.test other\n", family: .any) == "127.0.0.5")
        #expect(ICMPProbe.hostsEntry("db.test", in: "::1 db.test\n127.0.0.5 db.test\n", family: .ipv6) == "::1")
    }
}
