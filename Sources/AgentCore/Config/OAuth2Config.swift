/// `oauth2:` on an endpoint, in Prometheus' keys: the agent gets a token from `token_url` with
/// the client credentials grant (RFC 6749 §4.4) and sends it as `Authorization: Bearer`. The
/// token is kept until shortly before it expires (or until the endpoint answers 401), shared by
/// every endpoint with the same settings, and never logged or stored.
public struct OAuth2Config: Sendable, Hashable {
    public var clientID: String
    public var clientSecret: Secret
    public var tokenURL: String
    public var scopes: [String]
    /// Extra form parameters of the token request (`audience` for Auth0, `resource` for ADFS).
    public var endpointParams: [String: String]
    /// How to trust the token endpoint, on its own as in Prometheus (`tls_config` there): a
    /// probed endpoint's private CA or client certificate is not the identity provider's.
    public var tls: TLSConfig

    public init(
        clientID: String, clientSecret: Secret, tokenURL: String, scopes: [String] = [], endpointParams: [String: String] = [:],
        tls: TLSConfig = TLSConfig()
    ) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.tokenURL = tokenURL
        self.scopes = scopes
        self.endpointParams = endpointParams
        self.tls = tls
    }

    static let keys = ["client_id", "client_secret", "client_secret_file", "token_url", "scopes", "endpoint_params", "tls"]

    init(_ node: ConfigNode) throws(ConfigError) {
        let mapping = try node.mapping(allowed: Self.keys)
        let secret: Secret
        switch (mapping["client_secret"], mapping["client_secret_file"]) {
        case (let inline?, nil): secret = Secret(try inline.string())
        case (nil, let file?): secret = try file.secretFile()
        default: throw node.error("\(node.path) needs exactly one of \"client_secret\" or \"client_secret_file\"")
        }
        var params: [String: String] = [:]
        for (key, keyNode, value) in try mapping["endpoint_params"]?.stringMap() ?? [] {
            guard key != "grant_type", key != "scope" else {
                throw keyNode.error("\(keyNode.path) sets \(key), which the agent sends itself (client_credentials; scopes)")
            }
            params[key] = value
        }
        self.init(
            clientID: try mapping.required("client_id").nonEmptyString(), clientSecret: secret,
            tokenURL: try mapping.required("token_url").url(),
            scopes: try mapping["scopes"]?.sequence().map { (item: ConfigNode) throws(ConfigError) in try item.nonEmptyString() } ?? [],
            endpointParams: params, tls: try mapping["tls"].map { node throws(ConfigError) in try TLSConfig(node) } ?? TLSConfig())
    }

    var secrets: [String] { SecretScrubber.basicCredentials(username: clientID, password: clientSecret.exposedValue) }
}
