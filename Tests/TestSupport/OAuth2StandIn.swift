import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// An OAuth2 authorization server and the resource it protects, on one loopback port, strict as
/// RFC 6749 is: `POST /token` takes only `application/x-www-form-urlencoded`,
/// `grant_type=client_credentials` (else 400 `unsupported_grant_type`) and the client's HTTP
/// Basic credentials, id and secret form-encoded (§2.3.1; else 401 `invalid_client` with
/// `WWW-Authenticate`); a scope it does not grant is 400 `invalid_scope`. `GET /resource`
/// answers 200 only to `Authorization: Bearer` with a token it issued and has not revoked
/// (RFC 6750 §3: else 401 `invalid_token`).
public final class OAuth2StandIn: Sendable {
    public struct TokenRequest: Sendable {
        public let form: [String: String]
    }

    struct State {
        var issued: Set<String> = []
        var requests: [TokenRequest] = []
        var resourceStatuses: [Int] = []
        var expiresIn: Int?
        var serial = 0
    }

    public let clientID: String
    public let clientSecret: String
    let grantedScopes: Set<String>
    let state = NIOLockedValueBox(State())
    private let server: StandInServer

    /// - Parameter expiresIn: the tokens' `expires_in`; nil issues tokens without one.
    public init(clientID: String, clientSecret: String, grantedScopes: Set<String> = [], expiresIn: Int? = 3600) throws {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.grantedScopes = grantedScopes
        state.withLockedValue { $0.expiresIn = expiresIn }
        let state = state
        let credentials = "Basic " + Data("\(Self.formEncoded(clientID)):\(Self.formEncoded(clientSecret))".utf8).base64EncodedString()
        server = try StandInServer { head, body in
            state.withLockedValue { state in
                switch head.uri {
                case "/token":
                    return Self.token(head: head, body: body, credentials: credentials, granted: grantedScopes, state: &state)
                case "/resource":
                    let bearer = head.headers["Authorization"].first.flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
                    let status = bearer.map { state.issued.contains($0) } == true ? 200 : 401
                    state.resourceStatuses.append(status)
                    return status == 200
                        ? (200, "ok", [("Content-Type", "text/plain")])
                        : (401, "", [("WWW-Authenticate", "Bearer error=\"invalid_token\"")])
                default:
                    return (404, "", [])
                }
            }
        }
    }

    public var tokenURL: String { "http://127.0.0.1:\(server.port)/token" }
    public var resourceURL: String { "http://127.0.0.1:\(server.port)/resource" }

    /// The token requests that got a token, in order.
    public var tokenRequests: [TokenRequest] { state.withLockedValue { $0.requests } }
    public var resourceStatuses: [Int] { state.withLockedValue { $0.resourceStatuses } }
    public var issuedTokens: Set<String> { state.withLockedValue { $0.issued } }

    /// Every token issued so far stops working, as when an identity provider revokes a session.
    public func revokeAll() { state.withLockedValue { $0.issued.removeAll() } }

    public func shutdown() { server.shutdown() }

    static func token(
        head: HTTPRequestHead, body: ByteBuffer, credentials: String, granted: Set<String>, state: inout State
    ) -> (status: Int, body: String, headers: [(String, String)]) {
        func error(_ status: Int, _ code: String, _ extra: [(String, String)] = []) -> (Int, String, [(String, String)]) {
            (status, "{\"error\":\"\(code)\",\"error_description\":\"refused by the stand-in\"}", [("Content-Type", "application/json")] + extra)
        }
        guard head.method == .POST else { return error(405, "invalid_request") }
        guard head.headers["Content-Type"].first?.hasPrefix("application/x-www-form-urlencoded") == true else {
            return error(400, "invalid_request")
        }
        let form = Self.parseForm(String(buffer: body))
        guard form["grant_type"] == "client_credentials" else { return error(400, "unsupported_grant_type") }
        guard head.headers["Authorization"].first == credentials else {
            return error(401, "invalid_client", [("WWW-Authenticate", "Basic realm=\"token\"")])
        }
        let scopes = Set((form["scope"] ?? "").split(separator: " ").map(String.init))
        guard scopes.isSubset(of: granted) else { return error(400, "invalid_scope") }
        state.serial += 1
        let token = "tok-\(state.serial)-\(UUID().uuidString)"
        state.issued.insert(token)
        state.requests.append(TokenRequest(form: form))
        let lifetime = state.expiresIn.map { ",\"expires_in\":\($0)" } ?? ""
        return (
            200, "{\"access_token\":\"\(token)\",\"token_type\":\"Bearer\"\(lifetime)}",
            [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
        )
    }

    static func parseForm(_ text: String) -> [String: String] {
        var form: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            form[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return form
    }

    static func formEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return (text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text).replacingOccurrences(of: "%20", with: "+")
    }
}
