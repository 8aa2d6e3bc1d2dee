import AgentCore
import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

/// Endpoints behind OAuth2 client credentials, against a strict authorization server and
/// resource on loopback (`OAuth2StandIn`).
struct OAuth2ProbeTests {
    /// A secret with characters that must be form-encoded inside the Basic credentials.
    static let secret = "s3cr:t &+/x"

    func client(_ server: OAuth2StandIn, secret: String = Self.secret, scopes: [String] = []) -> OAuth2Config {
        OAuth2Config(
            clientID: server.clientID, clientSecret: Secret(secret), tokenURL: server.tokenURL, scopes: scopes,
            endpointParams: ["audience": "probes"])
    }

    func endpoint(_ name: String, _ server: OAuth2StandIn, client: OAuth2Config, interval: Duration = .milliseconds(200)) -> EndpointConfig {
        EndpointConfig(
            name: name, url: server.resourceURL, interval: interval, timeout: .seconds(2), authorization: .oauth2(client))
    }

    /// Runs `endpoints` on a scheduled engine until `until` holds for the results so far.
    func run(
        _ endpoints: [EndpointConfig], seconds: Double = 10, _ what: String,
        during: @escaping @Sendable ([ProbeResult]) -> Void = { _ in }, until: @escaping @Sendable ([ProbeResult]) -> Bool
    ) async throws -> [ProbeResult] {
        let results = SocketProbeTests.ResultBox()
        let engine = ProbeEngine(seed: "test", logger: Logger(label: "test")) { results.append($0) }
        engine.setEndpoints(endpoints, scrubber: SecretScrubber())
        defer { Task { await engine.shutdown(grace: .seconds(1)) } }
        _ = try await TestEnvironment.eventually(seconds: seconds, what) { () -> Bool? in
            let all = results.all
            during(all)
            return until(all) ? true : nil
        }
        await engine.shutdown(grace: .seconds(1))
        return results.all
    }

    @Test func aTokenIsFetchedOnceAndReusedWhileItLasts() async throws {
        let server = try OAuth2StandIn(clientID: "prober", clientSecret: Self.secret, grantedScopes: ["read"])
        defer { server.shutdown() }
        let results = try await run([endpoint("api", server, client: client(server, scopes: ["read"]))], "five probes") {
            $0.count >= 5
        }
        #expect(results.allSatisfy { $0.failure == nil && $0.statusCode == 200 }, "\(results.compactMap(\.failure))")
        #expect(server.tokenRequests.count == 1)
        let form = try #require(server.tokenRequests.first?.form)
        #expect(form == ["grant_type": "client_credentials", "scope": "read", "audience": "probes"])
    }

    @Test func aTokenIsRenewedTenSecondsBeforeItExpires() async throws {
        // expires_in 11: usable for one second.
        let server = try OAuth2StandIn(clientID: "prober", clientSecret: Self.secret, expiresIn: 11)
        defer { server.shutdown() }
        let results = try await run([endpoint("api", server, client: client(server))], "a second token") { _ in
            server.tokenRequests.count >= 2
        }
        #expect(results.allSatisfy { $0.failure == nil }, "\(results.compactMap(\.failure))")
        #expect(results.count >= 3, "several probes reuse the first token")
    }

    @Test func aRefusedClientFailsAsAuthWithTheServersErrorAndNoSecret() async throws {
        let server = try OAuth2StandIn(clientID: "prober", clientSecret: Self.secret)
        defer { server.shutdown() }
        let wrong = client(server, secret: "not-the-secret")
        let endpoint = endpoint("api", server, client: wrong)
        let result = try await probeOnce(endpoint)
        let failure = try #require(result.failure)
        #expect(failure.reason == .auth)
        #expect(failure.message.contains("answered 401: invalid_client"), "\(failure.message)")
        #expect(!failure.message.contains("not-the-secret"))
        #expect(server.resourceStatuses.isEmpty, "no request goes to the endpoint without a token")
        #expect(result.statusCode == 0 && result.timings.total > .zero)
    }

    @Test func anUnknownScopeIsNamedInTheFailure() async throws {
        let server = try OAuth2StandIn(clientID: "prober", clientSecret: Self.secret, grantedScopes: ["read"])
        defer { server.shutdown() }
        let result = try await probeOnce(endpoint("api", server, client: client(server, scopes: ["admin"])))
        #expect(result.failure?.reason == .auth)
        #expect(result.failure?.message.contains("invalid_scope") == true, "\(String(describing: result.failure))")
    }

    @Test func anUnreachableTokenEndpointFailsAsAuth() async throws {
        let port = try closedLoopbackPort()
        let config = OAuth2Config(clientID: "prober", clientSecret: Secret("x"), tokenURL: "http://127.0.0.1:\(port)/token")
        let result = try await probeOnce(
            EndpointConfig(name: "api", url: "http://127.0.0.1:\(port)/", timeout: .seconds(2), authorization: .oauth2(config)))
        #expect(result.failure?.reason == .auth)
        #expect(
            result.failure?.message.hasPrefix("OAuth2 token endpoint http://127.0.0.1:\(port)/token: ") == true,
            "\(String(describing: result.failure))")
    }

    @Test func aRevokedTokenFailsOneProbeAndTheNextFetchesANewOne() async throws {
        let server = try OAuth2StandIn(clientID: "prober", clientSecret: Self.secret)
        defer { server.shutdown() }
        let revoked = OnceFlag()
        let results = try await run(
            [endpoint("api", server, client: client(server))], "a probe after the revocation succeeds",
            during: { results in
                if results.count >= 2 { revoked.setOnce { server.revokeAll() } }
            },
            until: { results in
                guard let refused = results.firstIndex(where: { $0.statusCode == 401 }) else { return false }
                return results[(refused + 1)...].contains { $0.failure == nil }
            })
        let refused = try #require(results.firstIndex { $0.statusCode == 401 })
        #expect(results[refused].failure?.reason == .httpStatus)
        #expect(results[(refused + 1)...].first?.failure == nil, "the probe right after the refusal has a new token")
        #expect(server.tokenRequests.count == 2)
    }

    @Test func endpointsWithTheSameClientShareOneToken() async throws {
        let server = try OAuth2StandIn(clientID: "prober", clientSecret: Self.secret)
        defer { server.shutdown() }
        let shared = client(server)
        // Started apart, so the second finds the first's token.
        let results = try await run(
            [
                endpoint("a", server, client: shared, interval: .milliseconds(300)),
                endpoint("b", server, client: shared, interval: .milliseconds(300)),
                endpoint("c", server, client: shared, interval: .milliseconds(300)),
            ], "three probes of each endpoint"
        ) { results in ["a", "b", "c"].allSatisfy { name in results.filter { $0.endpoint == name }.count >= 3 } }
        #expect(results.allSatisfy { $0.failure == nil }, "\(results.compactMap(\.failure))")
        #expect(server.tokenRequests.count <= 3, "at most one fetch per endpoint that started before the first token came")
        #expect(server.tokenRequests.count >= 1)
    }

    @Test func theTokenAppearsInNoResultOrRecord() async throws {
        let server = try OAuth2StandIn(clientID: "prober", clientSecret: Self.secret)
        defer { server.shutdown() }
        let results = try await run([endpoint("api", server, client: client(server))], "two probes") { $0.count >= 2 }
        let tokens = server.issuedTokens
        #expect(!tokens.isEmpty)
        for result in results {
            let line = result.jsonLine(node: "n") + (result.failure?.message ?? "")
            for token in tokens { #expect(!line.contains(token)) }
            #expect(!line.contains(Self.secret))
        }
    }
}

/// Runs a closure once, from whichever thread gets there first.
final class OnceFlag: Sendable {
    private let done = Mutex(false)
    func setOnce(_ body: () -> Void) {
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        if first { body() }
    }
}
