import Foundation

/// What a probe does, from its URL's scheme: an HTTP request (`http://`, `https://`), a TCP
/// connect (`tcp://host:port`), a TCP connect and TLS handshake (`tls://host:port`: the
/// handshake's time, the chain's dates and its verification, with no request sent), a gRPC
/// health check (`grpc://host:port/service` over h2c, `grpcs://` over TLS), a DNS query
/// (`dns://server/name?type=A`) or an ICMP echo (`icmp://host`).
///
/// The connect-only kinds and gRPC run as libcurl transfers (`CURLOPT_CONNECT_ONLY`, or an
/// HTTP/2 POST), so they share the probe thread's event loop, the phase timings, the descriptor
/// reserve and the TLS options with HTTP probes. DNS and ICMP are the agent's own sockets,
/// polled in the same loop (`SocketProbe`).
public enum ProbeKind: String, Sendable, Equatable, CaseIterable {
    case http, tcp, tls, grpc, dns, icmp

    public static let schemes = ["http", "https", "tcp", "tls", "grpc", "grpcs", "dns", "icmp"]

    public init(url: String) {
        let scheme = url.range(of: "://").map { url[..<$0.lowerBound].lowercased() } ?? ""
        switch scheme {
        case "tcp": self = .tcp
        case "tls": self = .tls
        case "grpc", "grpcs": self = .grpc
        case "dns": self = .dns
        case "icmp": self = .icmp
        default: self = .http
        }
    }

    /// How results and metrics name what the probe did (`method` of an HTTP probe).
    var method: String { rawValue.uppercased() }

    /// The kind a result's `method` belongs to: an HTTP method is `.http`.
    public init(method: String) {
        self = ProbeKind(rawValue: method.lowercased()).flatMap { $0 == .http ? nil : $0 } ?? .http
    }

    /// The phases the kind goes through, by the names blackbox_exporter gives them for it: DNS
    /// calls its exchange `request`, ICMP its socket `setup` and its round trip `rtt`. A TCP
    /// probe has a `tls` phase with `tcp.tls` and a `query_response` phase with a dialogue.
    public var phases: [(phase: Phase, name: String)] {
        switch self {
        case .http, .grpc: return Phase.allCases.map { ($0, $0.rawValue) }
        case .tcp, .tls: return [(.resolve, "resolve"), (.connect, "connect"), (.tls, "tls"), (.processing, "query_response")]
        case .dns: return [(.resolve, "resolve"), (.connect, "connect"), (.processing, "request")]
        case .icmp: return [(.resolve, "resolve"), (.connect, "setup"), (.processing, "rtt")]
        }
    }

    /// The target a blackbox_exporter scrape would probe for this URL, and so label
    /// `instance`: the URL itself for HTTP (its `?target=`), the server for DNS, `host:port`
    /// or the host for the other kinds; the URL when it names no host (`dns:///name`).
    static func blackboxTarget(_ url: String) -> String {
        guard ProbeKind(url: url) != .http, let start = url.range(of: "://")?.upperBound else { return url }
        let authority = url[start...].prefix { $0 != "/" && $0 != "?" }
        return authority.isEmpty ? url : String(authority)
    }

    /// Whether libcurl runs the probe; DNS and ICMP are the agent's own sockets.
    var runsOnCurl: Bool { self != .dns && self != .icmp }

    /// Whether the probe stops once connected (and, for `tls://`, once the handshake verified).
    var connectsOnly: Bool { self == .tcp || self == .tls }

    /// The URL libcurl connects to: the same host and port over the scheme whose connection
    /// phases are wanted (plain TCP for `tcp://`, TLS for `tls://` and for `tcp://` with
    /// `tcp.tls`), and for gRPC the health
    /// service's `Check` method.
    static func curlURL(_ url: String, tls: Bool = false) -> String {
        let kind = ProbeKind(url: url)
        let rest = url[url.range(of: "://")!.upperBound...]
        switch kind {
        case .tcp: return (tls ? "https://" : "http://") + rest
        case .tls: return "https://" + rest
        case .grpc:
            let authority = rest.prefix { $0 != "/" }
            let secure = url.lowercased().hasPrefix("grpcs:")
            return (secure ? "https://" : "http://") + authority + GRPCHealthCheck.path
        case .http, .dns, .icmp: return url
        }
    }

    /// nil when `url` is usable for its kind: any usable http(s) URL; for `tcp://`, `tls://`
    /// and `grpc(s)://` a host and an explicit port (gRPC: optionally one path segment, the
    /// service); for `dns://` and `icmp://` what `DNSQuery` and `ICMPTarget` accept.
    public static func problem(_ url: String) -> String? {
        let kind = ProbeKind(url: url)
        let scheme = url.range(of: "://").map { url[..<$0.lowerBound].lowercased() } ?? ""
        guard schemes.contains(scheme) else {
            return "must be a URL the agent probes: "
                + "http(s)://host/path, tcp://host:port, tls://host:port, grpc(s)://host:port/service, dns://server/name or icmp://host"
        }
        switch kind {
        case .dns: return URLCheck.problem(url, schemes: [scheme], needsHost: false) ?? DNSQuery.problem(url)
        case .icmp: return URLCheck.problem(url, schemes: [scheme]) ?? ICMPTarget.problem(url)
        case .http, .tcp, .tls, .grpc: break
        }
        if let problem = URLCheck.problem(url, schemes: kind == .http ? ["http", "https"] : [scheme]) { return problem }
        guard kind != .http, let components = URLComponents(string: url) else { return nil }
        guard components.port != nil else { return "needs a port: \(scheme)://host:port" }
        guard components.query == nil, components.fragment == nil, components.user == nil else {
            return "is a \(scheme):// URL, which takes no query, fragment or credentials"
        }
        let path = components.percentEncodedPath
        if kind == .grpc {
            guard GRPCHealthCheck.service(fromPath: path) != nil else {
                return "has path \(path); a grpc:// URL's path is the service to check (one segment, e.g. /my.pkg.Service) or empty"
            }
            return nil
        }
        guard path.isEmpty || path == "/" else {
            return "is a \(scheme):// URL, which is only host:port (no path, query or credentials)"
        }
        return nil
    }
}
