import Foundation

/// What an `icmp://host` endpoint pings: an IP literal, or a name the node resolves from
/// `/etc/hosts` first and then its resolver (`/etc/resolv.conf`), A or AAAA by `ip_family`.
public struct ICMPTarget: Sendable, Equatable {
    public var host: String

    public init(url: String) throws(DNSQuery.Problem) {
        guard let schemeEnd = url.range(of: "://"), url[..<schemeEnd.lowerBound].lowercased() == "icmp" else {
            throw DNSQuery.Problem("must be an icmp://host URL")
        }
        var rest = String(url[schemeEnd.upperBound...])
        if rest.hasSuffix("/") { rest.removeLast() }
        if rest.hasPrefix("["), rest.hasSuffix("]") { rest = String(rest.dropFirst().dropLast()) }
        guard !rest.isEmpty else { throw DNSQuery.Problem("needs a host: icmp://host") }
        let literal = IPAddress.isLiteral(rest)
        guard literal || rest.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else {
            throw DNSQuery.Problem(
                "is icmp://\(rest); an ICMP probe's URL is only a host (no port, path, query or credentials): icmp://host")
        }
        host = rest
    }

    public static func problem(_ url: String) -> String? {
        do throws(DNSQuery.Problem) {
            _ = try ICMPTarget(url: url)
            return nil
        } catch {
            return error.description
        }
    }
}
