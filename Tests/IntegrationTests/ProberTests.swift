import AgentCore
import Foundation
import Logging
import TestSupport
import Testing

/// The prober against real HTTP and HTTPS servers on loopback: what it measures and how it
/// classifies each way a probe can end.
@Suite struct ProberTests {
    static let http = try! TargetServer()
    static let certificates = try! TestCertificates(caValidFor: 2 * 86400, leafValidFor: 5 * 86400)
    static let https = try! TargetServer(tls: certificates)
    static let caFile = try! certificates.writeCAFile()

    func probe(_ endpoint: EndpointConfig) async throws -> ProbeResult {
        try await probeOnce(endpoint)
    }

    func endpoint(_ url: String, timeout: Duration = .seconds(5), _ configure: (inout EndpointConfig) -> Void = { _ in })
        -> EndpointConfig
    {
        var endpoint = EndpointConfig(name: "test", url: url, interval: .seconds(10), timeout: timeout)
        configure(&endpoint)
        return endpoint
    }

    @Test func successRecordsEveryPhaseOfAPlainHTTPProbe() async throws {
        let result = try await probe(endpoint(Self.http.url("/ok")))
        #expect(result.failure == nil)
        #expect(result.statusCode == 200)
        #expect(result.httpVersion == "1.1")
        #expect(result.bytesReceived == 2)
        #expect(result.remoteIP == "127.0.0.1")
        #expect(result.timings.resolve != nil)
        #expect(result.timings.connect != nil)
        #expect(result.timings.tls == nil, "plain HTTP has no TLS phase")
        #expect(result.timings.processing != nil)
        #expect(result.timings.transfer != nil)
        #expect(result.certificateExpiry == nil)
        #expect(abs((result.startedAt - .now).inSeconds) < 10)
    }

    @Test func aKnownServerDelayIsMeasuredWithinAFewMilliseconds() async throws {
        // A server of its own, which records how long it really held each answer: on a busy
        // machine its timer may fire late, and that lateness is the server's, not the prober's.
        let server = try TargetServer()
        defer { server.shutdown() }
        // When every suite starts at once on two cores, the probe thread itself can be scheduled
        // late, so accuracy is judged on the calmest of up to five rounds of five probes; that no
        // probe ever reads less than the server's real delay is checked in every round.
        var roundMedians: [Duration] = []
        for round in 0..<5 {
            var errors: [Duration] = []
            for _ in 0..<5 {
                let result = try await probe(endpoint(server.url("/delay/50")))
                #expect(result.failure == nil)
                let processing = try #require(result.timings.processing)
                let held = try #require(server.delaysHeld.last)
                #expect(held >= .milliseconds(50))
                #expect(result.timings.total >= held, "the probe took \(result.timings.total); the server held \(held)")
                errors.append(processing - held)
            }
            roundMedians.append(errors.sorted()[2])
            if roundMedians.last! < .milliseconds(5) && roundMedians.last! > .milliseconds(-2) { break }
            try await Task.sleep(for: .milliseconds(500 * (round + 1)))
        }
        // libcurl stamps "pre-transfer" after writing the request, so "processing" may read a
        // moment under the server's hold (never the total); over it is the probe's own lateness.
        let best = try #require(roundMedians.min { abs($0.inSeconds) < abs($1.inSeconds) })
        #expect(best < .milliseconds(5) && best > .milliseconds(-2), "median error against the server's hold, per round: \(roundMedians)")
    }

    @Test(arguments: [
        ("/status/204", StatusCodeSet.success, nil),
        ("/status/404", .success, FailureReason.httpStatus),
        ("/status/500", .success, .httpStatus),
        ("/status/503", StatusCodeSet([500...599]), nil),
        ("/status/301", .success, .httpStatus),
    ])
    func statusCodesAreCheckedAgainstTheExpectedSet(path: String, expected: StatusCodeSet, failure: FailureReason?)
        async throws
    {
        let result = try await probe(endpoint(Self.http.url(path)) { $0.expectedStatus = expected })
        #expect(result.failure?.reason == failure)
        #expect(result.statusCode == Int(path.split(separator: "/").last!)!)
    }

    @Test func redirectChainsAreFollowedAndTimed() async throws {
        let result = try await probe(endpoint(Self.http.url("/redirect/3")))
        #expect(result.failure == nil)
        #expect(result.redirects == 3)
        #expect(result.statusCode == 200)
        #expect(result.timings.redirect > .zero)
    }

    @Test func tooManyRedirectsAndLoopsFailAsRedirects() async throws {
        let chain = try await probe(endpoint(Self.http.url("/redirect/5")) { $0.redirects = RedirectPolicy(follow: true, maxHops: 2) })
        #expect(chain.failure?.reason == .redirects)
        let loop = try await probe(endpoint(Self.http.url("/loop")))
        #expect(loop.failure?.reason == .redirects)
        #expect(loop.timings.total > .zero)
    }

    @Test func notFollowingARedirectReportsTheRedirectStatus() async throws {
        let result = try await probe(endpoint(Self.http.url("/redirect/1")) { $0.redirects.follow = false })
        #expect(result.statusCode == 302)
        #expect(result.failure?.reason == .httpStatus)
        #expect(result.redirects == 0)
    }

    @Test func connectionRefusedIsAConnectFailureThatStillRecordsItsTime() async throws {
        let port = try closedLoopbackPort()
        let result = try await probe(endpoint("http://127.0.0.1:\(port)/"))
        #expect(result.failure?.reason == .connect)
        #expect(result.statusCode == 0)
        #expect(result.timings.resolve != nil, "name lookup finished before the refusal")
        #expect(result.timings.processing == nil)
        #expect(result.timings.total > .zero)
    }

    /// A 200 that says DOWN is a failure with its own reason; so is an answer over max_duration
    /// and a body that matches a forbidden pattern.
    @Test func conditionsFailAnAnswerTheStatusAloneWouldPass() async throws {
        let up = ResponseConditions(json: [try JSONCondition(path: "$.status", comparison: .equals, operands: ["UP"])])
        let healthy = try await probe(endpoint(Self.http.url("/health/UP")) { $0.conditions = up })
        #expect(healthy.succeeded, "\(String(describing: healthy.failure))")
        let down = try await probe(endpoint(Self.http.url("/health/DOWN")) { $0.conditions = up })
        #expect(down.statusCode == 200)
        #expect(down.failure == ProbeFailure(reason: .condition, message: "$.status is \"DOWN\", wanted equals UP"))
        let slow = try await probe(endpoint(Self.http.url("/delay/100")) { $0.conditions = ResponseConditions(maxDuration: .milliseconds(50)) })
        #expect(slow.failure?.reason == .tooSlow, "\(String(describing: slow.failure))")
        let forbidden = try await probe(endpoint(Self.http.url("/health/MAINTENANCE")) {
            $0.conditions = ResponseConditions(failIfBodyMatches: ["MAINTENANCE"])
        })
        #expect(forbidden.failure?.reason == .bodyMismatch)
        let header = try await probe(endpoint(Self.http.url("/big-header/10")) {
            $0.conditions = ResponseConditions(headers: [HeaderCondition(header: "x-big", pattern: "^h+$", mustMatch: false)])
        })
        #expect(header.failure == ProbeFailure(reason: .headerMismatch, message: "x-big: hhhhhhhhhh matches /^h+$/ (fail_if_header_matches)"),
            "read from the real response's headers")
        let required = try await probe(endpoint(Self.http.url("/ok")) {
            $0.conditions = ResponseConditions(headers: [HeaderCondition(header: "X-Big", pattern: ".", mustMatch: true)])
        })
        #expect(required.failure?.message == "response has no X-Big header (fail_if_header_not_matches)")
    }

    /// The origin's port is closed: only the proxy can answer, so success means the request
    /// went through it (it sees the absolute-form request line a forward proxy gets).
    @Test func aProxyURLCarriesTheRequestAndNoProxyBypassesIt() async throws {
        let proxy = try TargetServer()
        defer { proxy.shutdown() }
        let origin = "http://127.0.0.2:\(try closedLoopbackPort())/ok"
        let proxied = try await probe(endpoint(origin) { $0.proxy = .url(proxy.url(""), noProxy: []) })
        #expect(proxied.succeeded, "\(String(describing: proxied.failure))")
        #expect(proxy.requests(to: origin) == 1, "the proxy got the absolute-form request")

        let closedProxy = "http://127.0.0.1:\(try closedLoopbackPort())"
        let bypassed = try await probe(endpoint(Self.http.url("/status/204")) { $0.proxy = .url(closedProxy, noProxy: ["127.0.0.1"]) })
        #expect(bypassed.statusCode == 204, "no_proxy goes direct: \(String(describing: bypassed.failure))")
        let through = try await probe(endpoint(Self.http.url("/status/204")) { $0.proxy = .url(closedProxy, noProxy: ["127.0.0.9"]) })
        #expect(through.failure?.reason == .connect, "other hosts still use the (closed) proxy")
    }

    @Test func anUnresolvableNameIsADNSFailure() async throws {
        let result = try await probe(endpoint("http://no-such-host.invalid/"))
        #expect(result.failure?.reason == .dns)
        #expect(result.timings.connect == nil)
    }

    @Test func aSlowServerIsATimeoutAtTheConfiguredLimit() async throws {
        let result = try await probe(endpoint(Self.http.url("/delay/5000"), timeout: .milliseconds(300)))
        #expect(result.failure?.reason == .timeout)
        #expect(result.timings.connect != nil, "the connection was made")
        #expect(result.timings.processing == nil, "no first byte arrived")
        #expect(result.timings.total >= .milliseconds(290), "curl stops at its 300 ms timer, which starts just before its total")
        #expect(result.timings.total < .seconds(2))
    }

    @Test func aSlowDripBodyCannotHoldAProbePastItsTimeout() async throws {
        let result = try await probe(endpoint(Self.http.url("/drip"), timeout: .milliseconds(500)))
        #expect(result.failure?.reason == .timeout)
        #expect(result.statusCode == 200)
        #expect(result.timings.processing != nil)
        #expect(result.timings.total < .seconds(2))
    }

    /// libcurl reports an over-long response header as "out of memory": the agent says what it was.
    @Test func oversizedResponseHeadersFailAsTooLarge() async throws {
        // A server of its own: writing a megabyte of header would hold up the shared one's loop.
        let server = try TargetServer()
        defer { server.shutdown() }
        let huge = try await probe(endpoint(server.url("/big-header/1000000")))
        #expect(huge.failure?.reason == .tooLarge, "\(String(describing: huge.failure))")
        #expect(huge.failure?.message.contains("response headers exceeded") == true, "\(String(describing: huge.failure))")
        let fine = try await probe(endpoint(server.url("/big-header/8000")))
        #expect(fine.failure == nil)
    }

    @Test func anOversizedBodyFailsAsTooLarge() async throws {
        let result = try await probe(endpoint(Self.http.url("/bytes/5000")) { $0.maxBodyBytes = 1000 })
        #expect(result.failure?.reason == .tooLarge)
        let fits = try await probe(endpoint(Self.http.url("/bytes/1000")) { $0.maxBodyBytes = 1000 })
        #expect(fits.failure == nil)
        #expect(fits.bytesReceived == 1000)
    }

    @Test(arguments: [
        (BodyMatch.contains("ok"), true), (.contains("nope"), false), (.regex("^o.$"), true), (.regex("^x+$"), false),
    ])
    func theBodyIsCheckedWhenAsked(match: BodyMatch, passes: Bool) async throws {
        let result = try await probe(endpoint(Self.http.url("/ok")) { $0.bodyMatch = match })
        #expect(result.failure?.reason == (passes ? nil : .bodyMismatch))
    }

    @Test func headersAndBearerTokensAreSent() async throws {
        let result = try await probe(
            endpoint(Self.http.url("/headers")) {
                $0.headers = [HTTPHeader(name: "X-Probe", value: "yes")]
                $0.authorization = .bearer(Secret("s3cret-token"))
                $0.bodyMatch = .regex("(?s)authorization: Bearer s3cret-token.*|(?s).*Authorization: Bearer s3cret-token.*")
            })
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        let withHeader = try await probe(endpoint(Self.http.url("/headers")) {
            $0.headers = [HTTPHeader(name: "X-Probe", value: "yes")]
            $0.bodyMatch = .contains("X-Probe: yes")
        })
        #expect(withHeader.failure == nil)
    }

    @Test func headRequestsReadNoBody() async throws {
        let result = try await probe(endpoint(Self.http.url("/ok")) { $0.method = "HEAD" })
        #expect(result.failure == nil)
        #expect(result.bytesReceived == 0)
    }

    @Test func httpsWithTheRightCAReportsTLSTimeAndBothExpiries() async throws {
        let result = try await probe(endpoint(Self.https.url("/ok")) { $0.tls.caFile = Self.caFile })
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        #expect(result.timings.tls != nil)
        #expect(result.certificateExpiry == Self.leafExpiry)
        #expect(result.chainEarliestExpiry == Self.caExpiry)
        // The handshake's own facts, in blackbox's words; the body's length as the server sent it.
        #expect(result.details.tlsVersion == "TLS 1.3" || result.details.tlsVersion == "TLS 1.2")
        #expect(result.details.tlsCipher?.isEmpty == false)
        #expect(result.details.contentLength == 2)
        let plain = try await probe(endpoint(Self.http.url("/ok")))
        #expect(plain.details.tlsVersion == nil && plain.details.tlsCipher == nil)
    }

    /// tcp://: connected is success; nothing is sent, so the server sees no request.
    @Test func aTCPProbeTimesTheConnectAndSendsNothing() async throws {
        let server = try TargetServer()
        defer { server.shutdown() }
        let result = try await probe(endpoint("tcp://127.0.0.1:\(server.port)"))
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        #expect(result.method == "TCP" && result.statusCode == 0)
        #expect(result.timings.resolve != nil && result.timings.connect != nil)
        #expect(result.timings.tls == nil && result.timings.processing == nil && result.timings.transfer == nil)
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.requests(to: "/") == 0, "no HTTP request was made")
        let refused = try await probe(endpoint("tcp://127.0.0.1:\(try closedLoopbackPort())"))
        #expect(refused.failure?.reason == .connect)
    }

    /// tls://: the handshake alone, verified, with the chain's dates.
    @Test func aTLSProbeTimesTheHandshakeAndVerifiesTheChain() async throws {
        let result = try await probe(endpoint("tls://127.0.0.1:\(Self.https.port)") { $0.tls.caFile = Self.caFile })
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        #expect(result.method == "TLS" && result.timings.tls != nil && result.timings.processing == nil)
        #expect(result.certificateExpiry == Self.leafExpiry && result.chainEarliestExpiry == Self.caExpiry)
        #expect(result.details.tlsVersion?.hasPrefix("TLS 1.") == true && result.details.tlsCipher != nil)
        #expect(result.details.contentLength == nil, "a handshake has no body")
        let untrusted = try await probe(endpoint("tls://127.0.0.1:\(Self.https.port)"))
        #expect(untrusted.failure?.reason == .tls)
        let plain = try await probe(endpoint("tls://127.0.0.1:\(Self.http.port)") { $0.tls.caFile = Self.caFile })
        #expect(plain.failure?.reason == .tls, "a server that does not speak TLS fails the handshake")
    }

    static let leafExpiry = Timestamp(unixSeconds: Int64(certificates.leafExpiry.timeIntervalSince1970))
    static let caExpiry = Timestamp(unixSeconds: Int64(certificates.caExpiry.timeIntervalSince1970))

    @Test func anUntrustedCertificateIsATLSFailure() async throws {
        let result = try await probe(endpoint(Self.https.url("/ok")))
        #expect(result.failure?.reason == .tls)
        #expect(result.failure?.message.contains("certificate") == true)
        // libcurl 7.88 sets its connect mark only once the whole connection, TLS included, is up:
        // a failed handshake leaves dns and the total, nothing in between.
        #expect(result.timings.resolve != nil)
        #expect(result.timings.tls == nil)
        #expect(result.timings.total > .zero)
        // The chain is read by a second, unverified handshake, so the dates are known anyway.
        #expect(result.certificateExpiry == Self.leafExpiry)
        #expect(result.chainEarliestExpiry == Self.caExpiry)
    }

    @Test func anExpiredCertificateFailsAsTLSAndStillReportsWhenItExpired() async throws {
        let expired = try TestCertificates(caValidFor: 30 * 86400, leafValidFor: -1800)
        let server = try TargetServer(tls: expired)
        defer { server.shutdown() }
        let result = try await probe(endpoint(server.url("/ok")) { $0.tls.caFile = try? expired.writeCAFile() })
        #expect(result.failure?.reason == .tls)
        #expect(result.failure?.message.contains("expired") == true, "\(String(describing: result.failure))")
        #expect(result.certificateExpiry == Timestamp(unixSeconds: Int64(expired.leafExpiry.timeIntervalSince1970)))
        #expect(result.certificateExpiry! < .now)
    }

    @Test func insecureModeAcceptsAnUntrustedCertificate() async throws {
        let result = try await probe(endpoint(Self.https.url("/ok")) { $0.tls.insecure = true })
        #expect(result.failure == nil)
        #expect(result.certificateExpiry == Self.leafExpiry)
    }

    @Test func warmModeReusesTheConnectionAndColdModeDoesNot() async throws {
        try await withDeadline(seconds: 20) {
            let engine = ProbeEngine(seed: "test", logger: Logger(label: "test")) { _ in }
            var warm = EndpointConfig(name: "warm", url: Self.https.url("/ok"), connection: .warm)
            warm.tls.caFile = Self.caFile
            let first = try await engine.probe(warm)
            let second = try await engine.probe(warm)
            var cold = warm
            cold.connection = .cold
            let third = try await engine.probe(cold)
            await engine.shutdown(grace: .seconds(1))
            #expect((first.timings.tls ?? .zero) > .microseconds(100), "the first warm probe pays for the handshake")
            #expect((second.timings.tls ?? .zero) < .microseconds(50), "the second warm probe reuses the connection")
            #expect((third.timings.tls ?? .zero) > .microseconds(100), "a cold probe handshakes again")
            #expect(second.connection == .warm && third.connection == .cold)
        }
    }
}
