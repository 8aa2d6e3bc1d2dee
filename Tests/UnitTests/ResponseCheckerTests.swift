@testable import AgentCore
import Foundation
import Testing

@Suite struct ResponseCheckerTests {
    static func conditions(_ yaml: String) throws -> ResponseConditions {
        try ConfigLoader(environment: [:], hostname: "h").parse(yaml: "endpoints:\n  - url: http://a/\n" + yaml, source: "t")
            .endpoints[0].conditions
    }

    static func failure(_ yaml: String, body: String, total: Duration = .milliseconds(10)) throws -> ProbeFailure? {
        let endpoint = try ConfigLoader(environment: [:], hostname: "h").parse(yaml: "endpoints:\n  - url: http://a/\n" + yaml, source: "t")
            .endpoints[0]
        return ResponseChecker(endpoint.conditions, bodyMatch: endpoint.bodyMatch).failure(body: Array(body.utf8), total: total)
    }

    static let health = #"{"status":"UP","checks":[{"name":"db","state":"DOWN","latency_ms":12.5}],"version":3,"ok":true,"a.b":"x","none":null}"#

    @Test(arguments: [
        ("    conditions: [{json: $.status, equals: UP}]\n", nil),
        ("    conditions: [{json: status, equals: DOWN}]\n", "status is \"UP\", wanted equals DOWN"),
        ("    conditions: [{json: $.status, not_equals: DOWN}]\n", nil),
        ("    conditions: [{json: \"$.checks[0].state\", in: [UP, DEGRADED]}]\n", "$.checks[0].state is \"DOWN\", wanted in [UP, DEGRADED]"),
        ("    conditions: [{json: \"$.checks[0].latency_ms\", less_than: 50}]\n", nil),
        ("    conditions: [{json: \"$.checks[0].latency_ms\", greater_than: 50}]\n", "is 12.5, wanted greater_than 50"),
        ("    conditions: [{json: $.version, equals: \"3.0\"}]\n", nil),
        ("    conditions: [{json: $.ok, equals: \"true\"}]\n", nil),
        ("    conditions: [{json: $.ok, less_than: 2}]\n", "$.ok is true, not a number"),
        ("    conditions: [{json: \"$[\\\"a.b\\\"]\", matches: \"^x$\"}]\n", nil),
        ("    conditions: [{json: $.none, equals: \"null\"}]\n", nil),
        ("    conditions: [{json: $.missing, equals: UP}]\n", "$.missing is missing"),
        ("    conditions: [{json: \"$.checks[3].state\", equals: UP}]\n", "$.checks[3].state is missing"),
        ("    conditions: [{json: $.status, equals: UP}, {json: $.version, greater_than: 3}]\n", "$.version is 3, wanted greater_than 3"),
    ] as [(String, String?)])
    func jsonConditions(yaml: String, problem: String?) throws {
        let failure = try Self.failure(yaml, body: Self.health)
        if let problem {
            #expect(failure?.reason == .condition)
            #expect(failure?.message.contains(problem) == true, "\(String(describing: failure?.message))")
        } else {
            #expect(failure == nil, "\(String(describing: failure))")
        }
    }

    @Test func bodyMatchIsOneOfTheChecks() throws {
        #expect(try Self.failure("    body_match: {contains: UP}\n", body: Self.health) == nil)
        #expect(try Self.failure("    body_match: {contains: MAINTENANCE}\n", body: Self.health)
            == ProbeFailure(reason: .bodyMismatch, message: "response body does not contain \"MAINTENANCE\""))
        #expect(try Self.failure("    body_match: {regex: \"version.:3\"}\n", body: Self.health) == nil)
        #expect(try Self.failure("    body_match: {regex: \"^ok$\"}\n", body: Self.health)?.message == "response body does not match /^ok$/")
        #expect(try Self.failure("    body_match: {contains: \"\"}\n", body: "") == nil, "an empty needle matches anything")
        let checker = ResponseChecker(.init(), bodyMatch: .contains("\u{FFFD}"))
        #expect(checker.failure(body: [0xff, 0xfe], total: .zero) == nil, "invalid UTF-8 is read with replacement characters")
    }

    @Test func aBodyThatIsNotJSONFailsItsConditions() throws {
        let failure = try Self.failure("    conditions: [{json: $.status, equals: UP}]\n", body: "<html>UP</html>")
        #expect(failure == ProbeFailure(reason: .condition, message: "response body is not JSON, so $.status equals UP cannot hold"))
    }

    @Test func forbiddenPatternsAndTheDurationLimit() throws {
        let yaml = "    fail_if_body_matches: [\"(?i)maintenance\", error]\n    max_duration: 200ms\n"
        #expect(try Self.failure(yaml, body: "all good") == nil)
        #expect(try Self.failure(yaml, body: "Down for MAINTENANCE")?.message == "response body matches /(?i)maintenance/ (fail_if_body_matches)")
        #expect(try Self.failure(yaml, body: "error")?.reason == .bodyMismatch)
        let slow = try Self.failure(yaml, body: "error", total: .milliseconds(250))
        #expect(slow == ProbeFailure(reason: .tooSlow, message: "took 250ms, over max_duration 200ms"), "too slow is said first")
        #expect(try Self.failure(yaml, body: "ok", total: .milliseconds(200)) == nil, "at the limit is not over it")
    }

    @Test func headerRulesFollowBlackboxs() throws {
        let yaml = """
                fail_if_header_matches: [{header: Content-Type, regex: "text/html"}]
                fail_if_header_not_matches:
                  - {header: X-Version, regex: "^v2"}
                  - {header: Cache-Control, regex: "no-store", allow_missing: true}

            """
        let checker = ResponseChecker(try Self.conditions(yaml))
        func failure(_ headers: [String: [String]]) -> ProbeFailure? {
            checker.failure(body: [], total: .zero) { name in headers.first { $0.key.lowercased() == name.lowercased() }?.value ?? [] }
        }
        #expect(failure(["X-Version": ["v2.1"]]) == nil, "a missing Content-Type passes; a missing Cache-Control is allowed")
        #expect(failure(["X-Version": ["v2.1"], "Content-Type": ["application/json", "text/html; charset=utf-8"]])
            == ProbeFailure(reason: .headerMismatch, message: "Content-Type: text/html; charset=utf-8 matches /text/html/ (fail_if_header_matches)"),
            "any value that matches fails")
        #expect(failure([:]) == ProbeFailure(reason: .headerMismatch, message: "response has no X-Version header (fail_if_header_not_matches)"))
        #expect(failure(["X-Version": ["v1.9"]])?.message == "X-Version: v1.9 does not match /^v2/ (fail_if_header_not_matches)")
        #expect(failure(["X-Version": ["v1.9", "v2.0"]]) == nil, "one matching value is enough")
        #expect(failure(["X-Version": ["v2"], "Cache-Control": ["max-age=60"]])?.message.contains("Cache-Control") == true)
    }

    @Test func defaultsApplyAndAnEndpointReplacesThem() throws {
        let config = try ConfigLoader(environment: [:], hostname: "h").parse(yaml: """
            defaults: {conditions: [{json: $.status, equals: UP}], max_duration: 1s}
            endpoints:
              - {name: a, url: "http://a/"}
              - {name: b, url: "http://b/", conditions: [{json: $.state, equals: ok}]}
            """, source: "t")
        #expect(config.endpoints[0].conditions.json.map(\.description) == ["$.status equals UP"])
        #expect(config.endpoints[1].conditions.json.map(\.description) == ["$.state equals ok"])
        #expect(config.endpoints[1].conditions.maxDuration == .seconds(1))
    }

    @Test(arguments: [
        ("    conditions: [{json: $.a}]\n", 3, 18, "endpoints[0].conditions[0] needs exactly one of equals, not_equals, less_than, greater_than, in, matches"),
        ("    conditions: [{equals: UP}]\n", 3, 18, "needs \"json\""),
        ("    conditions: [{json: $.a, equals: UP, in: [b]}]\n", 3, 18, "needs exactly one of"),
        ("    conditions: [{json: $.a, less_than: fast}]\n", 3, 41, "endpoints[0].conditions[0].less_than must be a number, found \"fast\""),
        ("    conditions: [{json: \"$.a[x]\", equals: UP}]\n", 3, 25, "[x] in $.a[x] must be a list index"),
        ("    conditions: [{json: $, equals: UP}]\n", 3, 25, "the path names no value"),
        ("    conditions: [{json: $.a, matches: \"(\"}]\n", 3, 39, "not a valid regular expression"),
        ("    conditions: [{json: $.a, eq: UP}]\n", 3, 30, "unknown key \"eq\""),
        ("    fail_if_body_matches: [\"[\"]\n", 3, 28, "endpoints[0].fail_if_body_matches[0] is not a valid regular expression"),
        ("    max_duration: soon\n", 3, 19, "endpoints[0].max_duration must be a duration"),
        ("    fail_if_header_matches: [{regex: x}]\n", 3, 30, "endpoints[0].fail_if_header_matches[0] needs \"header\" (a response header name) and \"regex\""),
    ])
    func mistakesArePlacedExactly(yaml: String, line: Int, column: Int, message: String) throws {
        #expect {
            try Self.conditions(yaml)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.line == line && error.column == column && error.message.contains(message)
        }
    }
}
