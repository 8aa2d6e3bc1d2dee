import Foundation

/// What a `dns://` endpoint asks: `dns://server[:port]/name?type=A&transport=udp`. The server
/// is an IP literal (a DNS probe that first needs DNS to find its server would measure the
/// wrong one); `dns:///name` asks the node's own resolver, the first `nameserver` of
/// `/etc/resolv.conf`, which is what a node-local prober most wants to watch.
public struct DNSQuery: Sendable, Equatable {
    public enum Transport: String, Sendable, Equatable {
        /// UDP, and TCP when the answer comes back truncated (as resolvers do).
        case udp
        case tcp
    }

    /// nil: the node's resolver, read from `/etc/resolv.conf` when the probe runs.
    public var server: DNSServer?
    public var name: String
    public var type: DNSRecordType
    public var transport: Transport

    public init(server: DNSServer?, name: String, type: DNSRecordType = .a, transport: Transport = .udp) {
        self.server = server
        self.name = name
        self.type = type
        self.transport = transport
    }

    /// Reads a `dns://` URL; the error is the end of a sentence naming where the URL is.
    public init(url: String) throws(Problem) {
        guard let schemeEnd = url.range(of: "://"), url[..<schemeEnd.lowerBound].lowercased() == "dns" else {
            throw Problem("must be a dns://server/name URL")
        }
        let rest = url[schemeEnd.upperBound...]
        let authority = String(rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" })
        let afterAuthority = rest.dropFirst(authority.count)
        guard afterAuthority.first == "/" else { throw Problem("needs the name to look up: dns://server/name?type=A") }
        let pathAndQuery = afterAuthority.dropFirst()
        guard !pathAndQuery.contains("#") else { throw Problem("has a fragment (#…); a dns:// URL is dns://server/name?type=A") }
        let path = String(pathAndQuery.prefix { $0 != "?" })
        let query = pathAndQuery.dropFirst(path.count + 1)

        if authority.isEmpty {
            server = nil
        } else if let parsed = DNSServer(parsing: authority) {
            server = parsed
        } else {
            throw Problem(
                "has server \"\(authority)\"; a DNS probe's server is an IP address with an optional port (dns://127.0.0.1:53/name), or empty for the node's resolver (dns:///name)"
            )
        }
        name = path.removingPercentEncoding ?? path
        do throws(DNSMessageError) {
            var scratch: [UInt8] = []
            try DNSMessage.appendName(name, to: &scratch)
        } catch {
            throw Problem("has \(error)")
        }
        type = .a
        transport = .udp
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts[0].lowercased()
            let value = parts.count > 1 ? parts[1] : ""
            switch key {
            case "type":
                guard let parsed = DNSRecordType(name: value) else {
                    throw Problem(
                        "has type=\(value); known types: \(DNSRecordType.allCases.map(\.name).joined(separator: ", "))")
                }
                type = parsed
            case "transport":
                guard let parsed = Transport(rawValue: value.lowercased()) else {
                    throw Problem("has transport=\(value); use udp (TCP after a truncated answer) or tcp")
                }
                transport = parsed
            default:
                throw Problem("has query parameter \"\(key)\"; a dns:// URL takes type= and transport=")
            }
        }
    }

    public static func problem(_ url: String) -> String? {
        do throws(Problem) {
            _ = try DNSQuery(url: url)
            return nil
        } catch {
            return error.description
        }
    }

    public struct Problem: Error, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
