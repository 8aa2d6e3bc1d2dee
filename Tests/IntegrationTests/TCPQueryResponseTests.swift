import AgentCore
import Foundation
import Logging
import TestSupport
import Testing

/// `tcp://` probes that talk: blackbox's `query_response` lines over a real line-protocol
/// server on loopback, in plain TCP and in TLS (`tcp.tls`).
struct TCPQueryResponseTests {
    static let certificates = try! TestCertificates(caValidFor: 2 * 86400, leafValidFor: 5 * 86400)
    static let caFile = try! certificates.writeCAFile()

    /// An SMTP-like server: 220 on connect, 250 for HELO, 221 and close for QUIT.
    static func smtp(tls: TestCertificates? = nil) throws -> LineServer {
        try LineServer(banner: ["220 mail.test ESMTP"], tls: tls) { line in
            if line.hasPrefix("HELO") { return .say(["250 mail.test"]) }
            if line == "QUIT" { return .sayAndClose(["221 bye"]) }
            return .say(["500 what?"])
        }
    }

    static let smtpDialogue = [
        TCPOptions.QueryStep(expect: "^220 "), .init(send: "HELO prober\r"), .init(expect: "^250"), .init(send: "QUIT\r"),
        .init(expect: "^221"),
    ]

    func endpoint(_ url: String, timeout: Duration = .seconds(3), _ tcp: TCPOptions) -> EndpointConfig {
        EndpointConfig(name: "tcp", url: url, interval: .seconds(10), timeout: timeout, tcp: tcp)
    }

    @Test func aDialogueIsTimedAsItsOwnPhaseAndItsConnectionClosedAfterwards() async throws {
        let server = try Self.smtp()
        defer { server.shutdown() }
        let result = try await probeOnce(endpoint("tcp://127.0.0.1:\(server.port)", TCPOptions(queryResponse: Self.smtpDialogue)))
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        #expect(server.receivedLines == ["HELO prober", "QUIT"], "each send goes out with a newline, the \\r kept as written")
        #expect(result.timings.connect != nil && result.timings.processing != nil && result.timings.tls == nil)
        #expect(result.timings.total >= result.timings.processing! + result.timings.connect!)
        #expect(result.bytesReceived == Int64("220 mail.test ESMTP\r\n250 mail.test\r\n221 bye\r\n".utf8.count))
        _ = try await TestEnvironment.eventually(seconds: 5, "the probe's connection closed") {
            server.openConnections == 0 ? true : nil
        }
    }

    @Test func aLineThatNeverMatchesFailsAsQueryResponseNamingTheStepAndTheLastLine() async throws {
        let server = try Self.smtp()
        defer { server.shutdown() }
        let steps: [TCPOptions.QueryStep] = [.init(expect: "^220 "), .init(send: "QUIT"), .init(expect: "^250")]
        let result = try await probeOnce(endpoint("tcp://127.0.0.1:\(server.port)", TCPOptions(queryResponse: steps)))
        #expect(result.failure?.reason == .queryResponse)
        #expect(
            result.failure?.message
                == "query_response step 3: the connection closed before a line matched expect /^250/; the last line was \"221 bye\"")
    }

    @Test func aSilentServerTimesOutWithinTheProbesTimeout() async throws {
        let server = try LineServer(banner: [])
        defer { server.shutdown() }
        let result = try await probeOnce(
            endpoint("tcp://127.0.0.1:\(server.port)", timeout: .milliseconds(300), TCPOptions(queryResponse: [.init(expect: "^220")])))
        #expect(result.failure?.reason == .timeout)
        #expect(result.failure?.message == "query_response step 1: the timeout passed before a line matched expect /^220/; no line arrived")
        #expect(result.timings.total >= .milliseconds(300) && result.timings.total < .seconds(2))
    }

    @Test func maxDurationCountsTheDialogue() async throws {
        let server = try LineServer(banner: ["ready"]) { line in
            Thread.sleep(forTimeInterval: 0.2)
            return .say(["+PONG"])
        }
        defer { server.shutdown() }
        var slow = endpoint(
            "tcp://127.0.0.1:\(server.port)", TCPOptions(queryResponse: [.init(expect: "^ready"), .init(send: "PING"), .init(expect: "PONG")]))
        slow.conditions.maxDuration = .milliseconds(100)
        let result = try await probeOnce(slow)
        #expect(result.failure?.reason == .tooSlow, "\(String(describing: result.failure))")
        #expect(result.timings.processing! >= .milliseconds(200))
    }

    @Test func tlsOnATCPProbeVerifiesTheChainThenTalksThroughIt() async throws {
        let server = try Self.smtp(tls: Self.certificates)
        defer { server.shutdown() }
        let url = "tcp://127.0.0.1:\(server.port)"
        var trusted = endpoint(url, TCPOptions(tls: true, queryResponse: Self.smtpDialogue))
        trusted.tls.caFile = Self.caFile
        let result = try await probeOnce(trusted)
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        #expect(result.method == "TCP" && result.timings.tls != nil && result.timings.processing != nil)
        #expect(result.certificateExpiry == Timestamp(unixSeconds: Int64(Self.certificates.leafExpiry.timeIntervalSince1970)))
        #expect(result.details.tlsVersion?.hasPrefix("TLS 1.") == true)
        #expect(server.receivedLines == ["HELO prober", "QUIT"])
        // The same server without its CA: the handshake fails and nothing is sent.
        let untrusted = try await probeOnce(endpoint(url, TCPOptions(tls: true, queryResponse: Self.smtpDialogue)))
        #expect(untrusted.failure?.reason == .tls)
        #expect(server.receivedLines.count == 2)
        // tls:// with a dialogue is the same probe under its own kind.
        var tlsKind = endpoint("tls://127.0.0.1:\(server.port)", TCPOptions(queryResponse: Self.smtpDialogue))
        tlsKind.tls.caFile = Self.caFile
        let viaTLSScheme = try await probeOnce(tlsKind)
        #expect(viaTLSScheme.failure == nil && viaTLSScheme.method == "TLS" && viaTLSScheme.timings.processing != nil)
    }

    /// On the schedule the endpoint's one handle is reused probe after probe: each dialogue has
    /// a fresh connection, and none stays open.
    @Test func scheduledDialoguesEachOpenAndCloseOneConnection() async throws {
        let server = try Self.smtp()
        defer { server.shutdown() }
        let results = SocketProbeTests.ResultBox()
        let engine = ProbeEngine(seed: "test", logger: Logger(label: "test")) { results.append($0) }
        var scheduled = endpoint("tcp://127.0.0.1:\(server.port)", timeout: .seconds(1), TCPOptions(queryResponse: Self.smtpDialogue))
        scheduled.interval = .milliseconds(100)
        engine.setEndpoints([scheduled], scrubber: SecretScrubber())
        _ = try await TestEnvironment.eventually(seconds: 10, "five dialogues") { results.all.count >= 5 ? true : nil }
        await engine.shutdown(grace: .seconds(1))
        #expect(results.all.allSatisfy { $0.failure == nil }, "\(results.all.compactMap(\.failure))")
        #expect(server.acceptedConnections == results.all.count)
        _ = try await TestEnvironment.eventually(seconds: 5, "every connection closed") {
            server.openConnections == 0 ? true : nil
        }
    }
}
