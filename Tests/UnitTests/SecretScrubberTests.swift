@testable import AgentCore
import Foundation
import Testing

/// Secrets in the forms an echoing backend hands them back, and URLs as they may be shown.
@Suite struct SecretScrubberTests {
    @Test func everyEncodedFormOfASecretIsRemoved() {
        let scrubber = SecretScrubber(secrets: SecretScrubber.basicCredentials(username: "agent", password: "pa55/word+x") + ["tok-123456"])
        let basic = Data("agent:pa55/word+x".utf8).base64EncodedString()
        let echoed = """
            Authorization: Basic \(basic)
            Authorization: Bearer tok-123456
            password=pa55%2Fword%2Bx in a form, "pa55\\/word+x" in JSON
            """
        let scrubbed = scrubber.scrub(echoed)
        for leak in [basic, "tok-123456", "pa55%2Fword%2Bx", "pa55/word+x", "pa55\\/word+x"] {
            #expect(!scrubbed.contains(leak), "\(leak) survived: \(scrubbed)")
        }
        #expect(scrubbed.contains("Authorization: Basic <redacted>"))
    }

    @Test func aWebhookIsScrubbedWholeByPathAndByItsToken() {
        let scrubber = SecretScrubber(secrets: SecretScrubber.urlSecrets("https://hooks.slack.com/services/T000/B000/abcdefghijklmnop"))
        let echoed = "POST /services/T000/B000/abcdefghijklmnop HTTP/1.1; token abcdefghijklmnop; url https://hooks.slack.com/services/T000/B000/abcdefghijklmnop"
        let scrubbed = scrubber.scrub(echoed)
        #expect(!scrubbed.contains("abcdefghijklmnop") && !scrubbed.contains("/services/T000/B000"), "\(scrubbed)")
    }

    @Test func shortSecretsAreLeftAloneRatherThanManglingText() {
        #expect(SecretScrubber(secrets: ["ab"]).scrub("a cab") == "a cab")
    }

    @Test func credentialLikeQueryValuesAreRedactedWhereverAURLIsShown() {
        #expect(URLRedaction.display("https://u:p@api.example.com/v1?api_key=abc&page=2&Token=x#top")
            == "https://api.example.com/v1?api_key=<redacted>&page=2&Token=<redacted>#top")
        #expect(URLRedaction.display("https://a/?sig=1&signature=2&auth=3&key=4&password=5&secret=6&access_token=7&apikey=8")
            == "https://a/?sig=<redacted>&signature=<redacted>&auth=<redacted>&key=<redacted>&password=<redacted>&secret=<redacted>&access_token=<redacted>&apikey=<redacted>")
        #expect(URLRedaction.display("https://a/?session=9", redacting: ["session"]) == "https://a/?session=<redacted>", "the list is configurable")
        #expect(Set(URLRedaction.credentials(in: "https://u:p%40ss@a/?api_key=a%2Fb")) == ["a%2Fb", "a/b", "p%40ss", "u:p%40ss", "p@ss", "u:p@ss"])
    }

    @Test func theConfigurationCollectsEverySecretItHolds() throws {
        let loader = ConfigLoader(environment: [:], hostname: "h")
        let config = try loader.parse(yaml: """
            outputs:
              pushgateway: {url: "http://127.0.0.1:9091", basic_auth: {username: gw, password: gw-pa55word}}
              loki: {url: "http://127.0.0.1:3100/loki/api/v1/push", bearer_token: loki-t0ken-1}
            alerting:
              slack: [{name: oncall, webhook_url: "http://127.0.0.1:1/services/T/B/w3bhook-T0KEN"}]
            endpoints:
              - {url: "http://127.0.0.1/?api_key=qu3ry-k3y", headers: {X-Api-Key: header-s3cret, Accept: text/plain}}
            """, source: "x")
        let text = "gw-pa55word \(Data("gw:gw-pa55word".utf8).base64EncodedString()) loki-t0ken-1 w3bhook-T0KEN qu3ry-k3y header-s3cret text/plain"
        #expect(config.scrubber.scrub(text) == "<redacted> <redacted> <redacted> <redacted> <redacted> <redacted> text/plain")
    }
}

@Suite struct BackoffTests {
    @Test func backoffDoublesToItsCapWithJitter() {
        var backoff = Backoff(RetryPolicy(initial: .seconds(1), maximum: .seconds(8), jitter: 0.5))
        #expect([0, 0, 0, 0, 0, 0].map { backoff.next(random: $0) } == [1, 2, 4, 8, 8, 8].map { Duration.seconds($0) })
        backoff.reset()
        #expect(backoff.next(random: 0.999_999) > .milliseconds(499))
        #expect(backoff.next(random: 1.0 - 1e-9) < .seconds(2))
    }

    @Test func retryAfterIsTheWaitNotAFloor() {
        var backoff = Backoff(.outputs)
        for _ in 0..<10 { _ = backoff.next(random: 0) }
        #expect(backoff.next(random: 0, retryAfter: .seconds(1)) == .seconds(1))
        #expect(backoff.next(random: 0, retryAfter: .seconds(86_400)) == RetryPolicy.longestRetryAfter)
    }

    @Test func theCapsBoundTimeToResume() {
        #expect(RetryPolicy.outputs.maximum == .seconds(5))
        #expect(RetryPolicy.alerts.maximum == .seconds(2))
    }

    @Test(arguments: [
        ("120", Duration.seconds(120)), (" 0 ", .zero), ("Thu, 03 Dec 2026 08:00:30 GMT", .seconds(30)),
        ("Thursday, 03-Dec-26 08:00:30 GMT", .seconds(30)), ("Thu Dec  3 08:00:30 2026", .seconds(30)),
        ("Thu, 03 Dec 2026 07:00:00 GMT", .zero),
    ])
    func retryAfterTakesSecondsOrAnHTTPDate(text: String, wait: Duration) throws {
        let now = Timestamp(unixSeconds: 1_796_284_800)  // 2026-12-03T08:00:00Z
        #expect(RetryAfter.parse(text, now: now) == wait)
    }

    @Test func garbageRetryAfterIsIgnored() {
        #expect(RetryAfter.parse("soon", now: .now) == nil)
        #expect(RetryAfter.parse("-5", now: .now) == nil)
    }
}

@Suite struct HealthCheckTests {
    @Test func aStalledSchedulerOrAFailingSpoolIsUnhealthy() {
        let now = Fixtures.m0 + .seconds(100)
        #expect(HealthCheck.problems(schedulerHeartbeat: now - .seconds(1), now: now, spoolProblem: nil) == nil)
        #expect(HealthCheck.problems(schedulerHeartbeat: now - .seconds(9), now: now, spoolProblem: nil)
            == ["the probe scheduler has not run for 9 s"])
        #expect(HealthCheck.problems(schedulerHeartbeat: now, now: now, spoolProblem: "spool writes fail: x") == ["spool writes fail: x"])
    }
}
