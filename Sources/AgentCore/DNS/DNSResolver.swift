import Foundation
import NIOCore
import NIOPosix

/// Asks one DNS server directly, over UDP with a TCP retry for truncated answers, instead of
/// the C library's resolver: discovery must name the server it asked and the code it got back
/// (NXDOMAIN is not SERVFAIL), and tests point it at a server on a loopback port.
public struct DNSResolver: Sendable, Equatable {
    public var server: DNSServer
    public var timeout: Duration
    /// Tried for a name without a trailing dot, as `/etc/resolv.conf`'s `search` says (a
    /// Kubernetes pod's list turns `svc` into `svc.ns.svc.cluster.local`).
    public var searchDomains: [String]
    /// A name with at least this many dots is tried as given before the search list.
    public var ndots: Int

    public init(server: DNSServer, timeout: Duration = .seconds(2), searchDomains: [String] = [], ndots: Int = 1) {
        self.server = server
        self.timeout = timeout
        self.searchDomains = searchDomains
        self.ndots = ndots
    }

    /// The system's first name server, search list and `ndots`, from `resolv.conf` text.
    public static func system(resolvConf text: String, timeout: Duration = .seconds(2)) -> DNSResolver? {
        var server: DNSServer?
        var search: [String] = []
        var ndots = 1
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = words.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            switch keyword {
            case "nameserver" where server == nil && words.count > 1: server = DNSServer(host: words[1], port: 53)
            case "search", "domain": search = Array(words.dropFirst())
            case "options":
                for option in words.dropFirst() where option.hasPrefix("ndots:") {
                    ndots = Int(option.dropFirst(6)).map { min(max($0, 0), 15) } ?? ndots
                }
            default: continue
            }
        }
        return server.map { DNSResolver(server: $0, timeout: timeout, searchDomains: search, ndots: ndots) }
    }

    /// The names to ask for, in order, as the C library's resolver would.
    func candidates(for name: String) -> [String] {
        if name.hasSuffix(".") { return [name] }
        let searched = searchDomains.map { "\(name).\($0)" }
        let dots = name.filter { $0 == "." }.count
        return dots >= ndots ? [name] + searched : searched + [name]
    }

    /// The records of `type` for `name` (through CNAMEs in the same answer), with the additional
    /// records that came along (SRV targets' addresses). A name that exists with no such
    /// record is an empty answer; one that does not exist is `DNSLookupError.noSuchName`.
    public func lookup(_ name: String, type: DNSRecordType) async throws(DNSLookupError) -> DNSAnswer {
        var lastError = DNSLookupError.noSuchName(name: name, server: server)
        for candidate in candidates(for: name) {
            let response = try await exchange(name: candidate, type: type)
            switch response.responseCode {
            case .noError:
                let answer = DNSAnswer(name: candidate, type: type, message: response)
                // An empty answer for a search candidate means "try the next one", as the C library does.
                if !answer.records.isEmpty || candidate == name { return answer }
                lastError = .noRecords(name: name, type: type, server: server)
            case .nameError:
                continue
            default:
                throw .failed(name: candidate, code: response.responseCode, server: server)
            }
        }
        if case .noRecords = lastError { return DNSAnswer(name: name, type: type, message: nil) }
        throw lastError
    }

    /// One question and its answer: UDP, sent again once if nothing comes back in half the
    /// timeout (UDP may lose it), then TCP when the answer was truncated.
    func exchange(name: String, type: DNSRecordType) async throws(DNSLookupError) -> DNSMessage {
        let id = UInt16.random(in: .min ... .max)
        let query: [UInt8]
        do {
            query = try DNSMessage.query(id: id, name: name, type: type)
        } catch {
            throw .badName(error.description)
        }
        do {
            let address = try SocketAddress(ipAddress: server.host, port: server.port)
            let bytes = try await Self.withTimeout(timeout, server: server) {
                try await Self.overUDP(query, id: id, to: address, resend: timeout / 2)
            }
            var message = try DNSMessage(response: bytes)
            if message.truncated {
                let tcp = try await Self.withTimeout(timeout, server: server) { try await Self.overTCP(query, to: address) }
                message = try DNSMessage(response: tcp)
            }
            guard message.id == id else { throw DNSLookupError.unreachable(server: server, reason: "the answer is for another query") }
            return message
        } catch let error as DNSLookupError {
            throw error
        } catch let error as DNSMessageError {
            throw .unreachable(server: server, reason: error.description)
        } catch {
            throw .unreachable(server: server, reason: "\(error)")
        }
    }

    private static func overUDP(_ query: [UInt8], id: UInt16, to address: SocketAddress, resend: Duration) async throws -> [UInt8] {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: address.protocol == .inet6 ? "::" : "0.0.0.0", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            let envelope = AddressedEnvelope(remoteAddress: address, data: ByteBuffer(bytes: query))
            try await outbound.write(envelope)
            let resender = Task {
                try await Task.sleep(for: resend)
                try await outbound.write(envelope)
            }
            defer { resender.cancel() }
            for try await answer in inbound where answer.remoteAddress == address {
                let bytes = Array(answer.data.readableBytesView)
                // Anything else on this port (a late answer to nothing, spoofing) is ignored.
                if bytes.count >= 2, UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id { return bytes }
            }
            throw DNSLookupError.unreachable(server: DNSServer(address), reason: "the socket closed before an answer came")
        }
    }

    private static func overTCP(_ query: [UInt8], to address: SocketAddress) async throws -> [UInt8] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: [UInt8(query.count >> 8), UInt8(query.count & 0xff)] + query))
            var received: [UInt8] = []
            for try await chunk in inbound {
                received += chunk.readableBytesView
                guard received.count >= 2 else { continue }
                let length = Int(received[0]) << 8 | Int(received[1])
                if received.count >= length + 2 { return Array(received[2..<length + 2]) }
            }
            throw DNSLookupError.unreachable(server: DNSServer(address), reason: "the TCP connection closed mid-answer")
        }
    }

    private static func withTimeout<T: Sendable>(
        _ timeout: Duration, server: DNSServer, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw DNSLookupError.timedOut(server: server, after: timeout)
            }
            return value
        }
    }
}

/// Where DNS questions go: an IP address literal and a port.
public struct DNSServer: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init(_ address: SocketAddress) {
        self.init(host: address.ipAddress ?? "?", port: address.port ?? 53)
    }

    /// `127.0.0.1`, `127.0.0.1:5353`, `[::1]:53`; nil unless the host is an IP literal.
    public init?(parsing text: String) {
        var host = text
        var port = 53
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let value = Int(rest.dropFirst()) else { return nil }
                port = value
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            guard let value = Int(text[text.index(after: colon)...]) else { return nil }
            port = value
        }
        guard IPAddress.isLiteral(host), (1...65535).contains(port) else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { IPAddress.join(host: host, port: port) }
}

/// What a lookup found: the records of the asked type, and the additional section's addresses
/// by name (so an SRV target needs no second question when the server sent it along).
public struct DNSAnswer: Sendable, Equatable {
    public var name: String
    public var records: [DNSRecord]
    public var addresses: [String: [String]]

    init(name: String, type: DNSRecordType, message: DNSMessage?) {
        self.name = name
        let all = (message?.answers ?? []) + (message?.additional ?? [])
        records = (message?.answers ?? []).filter { record in
            switch (record.data, type) {
            case (.address(let text), .a): return !IPAddress.isIPv6(text)
            case (.address(let text), .aaaa): return IPAddress.isIPv6(text)
            case (.service, .srv): return true
            case (.name, .cname), (.name, .ns): return true
            case (.other(let code, _), _): return code == type.rawValue
            default: return false
            }
        }
        var addresses: [String: [String]] = [:]
        for record in all {
            if case .address(let text) = record.data { addresses[record.name.lowercased(), default: []].append(text) }
        }
        self.addresses = addresses
    }
}

public enum DNSLookupError: Error, Equatable, CustomStringConvertible {
    case badName(String)
    case noSuchName(name: String, server: DNSServer)
    case noRecords(name: String, type: DNSRecordType, server: DNSServer)
    case failed(name: String, code: DNSResponseCode, server: DNSServer)
    case timedOut(server: DNSServer, after: Duration)
    case unreachable(server: DNSServer, reason: String)

    public var description: String {
        switch self {
        case .badName(let why): why
        case .noSuchName(let name, let server): "\(name): no such name (NXDOMAIN from \(server))"
        case .noRecords(let name, let type, let server): "\(name) has no \(type.name) records (asked \(server))"
        case .failed(let name, let code, let server): "\(name): the DNS server \(server) answered \(code)"
        case .timedOut(let server, let after): "the DNS server \(server) did not answer within \(HumanUnits.format(after))"
        case .unreachable(let server, let reason): "cannot ask the DNS server \(server): \(reason)"
        }
    }
}
