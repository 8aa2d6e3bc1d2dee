@testable import AgentCore
import Testing

/// Reading token responses, when a token is renewed, and the token request's form, without a
/// server (the server side is in `OAuth2ProbeTests`).
@Suite struct OAuth2TokenTests {
    let now = MonotonicInstant(nanoseconds: 1_000_000_000_000)
    let url = "https://id.test/token"

    func parse(_ status: Int, _ body: String) -> Result<OAuth2Token, ProbeFailure> {
        OAuth2Token.parse(status: status, body: Array(body.utf8), tokenURL: url, now: now)
    }

    @Test func aTokenIsRenewedTenSecondsBeforeItsExpiry() throws {
        let token = try parse(200, #"{"access_token":"abc","token_type":"bearer","expires_in":60}"#).get()
        #expect(token.value == Secret("abc"))
        #expect(token.isUsable(at: now + .seconds(49)))
        #expect(!token.isUsable(at: now + .seconds(50)))
        let textual = try parse(200, #"{"access_token":"abc","token_type":"Bearer","expires_in":"5"}"#).get()
        #expect(!textual.isUsable(at: now), "a lifetime under the margin is renewed at once")
        let forever = try parse(200, #"{"access_token":"abc"}"#).get()
        #expect(forever.isUsable(at: now + .seconds(86400 * 365)))
    }

    @Test(arguments: [
        (400, #"{"error":"invalid_scope","error_description":"scope admin"}"#, "answered 400: invalid_scope (scope admin)"),
        (401, "", "answered 401"),
        (200, "<html>", "answered 200 without an access_token"),
        (200, #"{"access_token":""}"#, "without an access_token"),
        (200, #"{"access_token":"x","token_type":"mac"}"#, "issued a mac token; the agent sends Bearer tokens"),
    ])
    func refusalsNameTheServersWords(status: Int, body: String, message: String) {
        guard case .failure(let failure) = parse(status, body) else {
            Issue.record("\(body) gave a token")
            return
        }
        #expect(failure.reason == .auth)
        #expect(failure.message.hasPrefix("OAuth2 token endpoint \(url) "))
        #expect(failure.message.contains(message), "\(failure.message)")
    }

    @Test func theCacheSharesByClientAndDropsOnlyTheRefusedToken() {
        let a = OAuth2Config(clientID: "a", clientSecret: Secret("s"), tokenURL: url)
        var b = a
        b.scopes = ["other"]
        var cache = OAuth2TokenCache()
        cache.store(OAuth2Token(value: Secret("t1"), refreshAt: nil), for: a)
        #expect(cache.usable(for: a, at: now)?.value == Secret("t1"))
        #expect(cache.usable(for: b, at: now) == nil, "another scope is another client setting")
        cache.refused(Secret("old"), for: a)
        #expect(cache.usable(for: a, at: now) != nil, "a refusal of an older token keeps the newer one")
        cache.refused(Secret("t1"), for: a)
        #expect(cache.usable(for: a, at: now) == nil)
        cache.store(OAuth2Token(value: Secret("t2"), refreshAt: now + .seconds(1)), for: a)
        #expect(cache.usable(for: a, at: now + .seconds(1)) == nil)
        cache.store(OAuth2Token(value: Secret("t3"), refreshAt: nil), for: a)
        cache.keep([b])
        #expect(cache.usable(for: a, at: now) == nil, "a client no endpoint uses loses its token")
    }

    @Test func theFormIsURLEncodedAsRFC6749Says() {
        let config = OAuth2Config(
            clientID: "c", clientSecret: Secret("s"), tokenURL: url, scopes: ["read", "write:all"],
            endpointParams: ["resource": "https://api.test/", "audience": "a b"])
        #expect(
            OAuth2TokenRequest.form(config)
                == "grant_type=client_credentials&scope=read+write%3Aall&audience=a+b&resource=https%3A%2F%2Fapi.test%2F")
        #expect(OAuth2TokenRequest.formEncoded("s3cr:t &+/é") == "s3cr%3At+%26%2B%2F%C3%A9")
    }
}
