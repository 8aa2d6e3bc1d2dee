import Foundation

/// What a probe does, from its URL's scheme: an HTTP request (`http://`, `https://`), a TCP
/// connect (`tcp://host:port`), or a TCP connect and TLS handshake (`tls://host:port`: the
/// handshake's time, the chain's dates and its verification, with no request sent).
///
/// The connect-only kinds run as libcurl transfers that stop after the connection is made
/// (`CURLOPT_CONNECT_ONLY`), so they share the probe thread's event loop, the phase timings,
/// the descriptor reserve and the TLS options with HTTP probes.
public enum ProbeKind: String, Sendable, Equatable {
    case http, tcp, tls

    public static let schemes = ["http", "https", "tcp", "tls"]

    public init(url: String) {
        switch url.prefix(6).lowercased() {
        case "tcp://": self = .tcp
        case "tls://": self = .tls
        default: self = .http
        }
    }

    /// How results and metrics name what the probe did (`method` of an HTTP probe).
    var method: String { rawValue.uppercased() }

    /// The URL libcurl connects to: the same host and port over the scheme whose connection
    /// phases are wanted (plain TCP for `tcp://`, TLS for `tls://`).
    static func curlURL(_ url: String) -> String {
        let kind = ProbeKind(url: url)
        guard kind != .http else { return url }
        return (kind == .tls ? "https" : "http") + url.dropFirst(3)
    }

    /// nil when `url` is usable for its kind: any usable http(s) URL, and for `tcp://` and
    /// `tls://` a host and an explicit port with nothing after them.
    public static func problem(_ url: String) -> String? {
        if let problem = URLCheck.problem(url, schemes: schemes) { return problem }
        let kind = ProbeKind(url: url)
        guard kind != .http, let components = URLComponents(string: url) else { return nil }
        guard components.port != nil else { return "needs a port: \(kind.rawValue)://host:port" }
        let path = components.percentEncodedPath
        guard path.isEmpty || path == "/", components.query == nil, components.fragment == nil, components.user == nil else {
            return "is a \(kind.rawValue):// URL, which is only host:port (no path, query or credentials)"
        }
        return nil
    }
}
