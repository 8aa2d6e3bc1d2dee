/// The part of DNS (RFC 1035, AAAA from RFC 3596, SRV from RFC 2782) that discovery needs: one
/// question out, the answers and additional records back. Pure bytes in and out, so every
/// corner (name compression, truncation, a hostile length) is tested without a network.
public enum DNSRecordType: UInt16, Sendable, Equatable, CaseIterable {
    case a = 1
    case ns = 2
    case cname = 5
    case soa = 6
    case ptr = 12
    case mx = 15
    case txt = 16
    case aaaa = 28
    case srv = 33

    public init?(name: String) {
        guard let type = Self.allCases.first(where: { $0.name == name.uppercased() }) else { return nil }
        self = type
    }

    public var name: String {
        switch self {
        case .a: "A"
        case .ns: "NS"
        case .cname: "CNAME"
        case .soa: "SOA"
        case .ptr: "PTR"
        case .mx: "MX"
        case .txt: "TXT"
        case .aaaa: "AAAA"
        case .srv: "SRV"
        }
    }
}

/// One resource record; the data of types discovery does not read is kept undecoded.
public struct DNSRecord: Sendable, Equatable {
    public enum Data: Sendable, Equatable {
        case address(String)
        case name(String)
        case service(priority: UInt16, weight: UInt16, port: UInt16, target: String)
        case other(type: UInt16, bytes: [UInt8])
    }

    public var name: String
    public var type: UInt16
    public var ttl: UInt32
    public var data: Data

    /// The record as a zone-file line, `name.<TAB>ttl<TAB>IN<TAB>TYPE<TAB>data`, which is what
    /// blackbox_exporter's `validate_answer_rrs` patterns are written against.
    public var zoneLine: String {
        let typeName = DNSRecordType(rawValue: type)?.name ?? "TYPE\(type)"
        let value: String
        switch data {
        case .address(let text): value = text
        case .name(let target): value = target + "."
        case .service(let priority, let weight, let port, let target): value = "\(priority) \(weight) \(port) \(target)."
        case .other(_, let bytes):
            if type == DNSRecordType.txt.rawValue {
                value = Self.txtStrings(bytes).map { "\"\($0)\"" }.joined(separator: " ")
            } else {
                value = "\\# \(bytes.count) " + bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
            }
        }
        return "\(name).\t\(ttl)\tIN\t\(typeName)\t\(value)"
    }

    /// A TXT record's character-strings (RFC 1035 3.3.14), each length-prefixed.
    private static func txtStrings(_ bytes: [UInt8]) -> [String] {
        var strings: [String] = []
        var index = 0
        while index < bytes.count {
            let length = Int(bytes[index])
            let end = min(bytes.count, index + 1 + length)
            strings.append(String(decoding: bytes[(index + 1)..<end], as: UTF8.self))
            index = end
        }
        return strings
    }
}

/// A DNS response's code (RFC 1035 4.1.1, 6895): what a failed lookup says.
public struct DNSResponseCode: RawRepresentable, Sendable, Equatable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let noError = DNSResponseCode(rawValue: 0)
    public static let formatError = DNSResponseCode(rawValue: 1)
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    public static let nameError = DNSResponseCode(rawValue: 3)
    public static let refused = DNSResponseCode(rawValue: 5)

    public var description: String {
        switch rawValue {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        default: "RCODE\(rawValue)"
        }
    }
}

public struct DNSMessage: Sendable, Equatable {
    public var id: UInt16
    public var truncated: Bool
    public var responseCode: DNSResponseCode
    public var answers: [DNSRecord]
    public var authority: [DNSRecord]
    public var additional: [DNSRecord]
    /// The section sizes the header states (answer, authority, additional), as blackbox counts
    /// them: records of every class, the EDNS OPT record included.
    public var sectionCounts: (answers: Int, authority: Int, additional: Int)

    public static func == (lhs: DNSMessage, rhs: DNSMessage) -> Bool {
        lhs.id == rhs.id && lhs.truncated == rhs.truncated && lhs.responseCode == rhs.responseCode && lhs.answers == rhs.answers
            && lhs.authority == rhs.authority && lhs.additional == rhs.additional && lhs.sectionCounts == rhs.sectionCounts
    }

    /// A recursive query for one name and type, class IN.
    public static func query(id: UInt16, name: String, type: DNSRecordType) throws(DNSMessageError) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        try appendName(name, to: &bytes)
        bytes += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xff), 0, 1]
        return bytes
    }

    /// Reads a response. Never traps on bad input: every length is checked against the bytes.
    public init(response bytes: [UInt8]) throws(DNSMessageError) {
        var reader = Reader(bytes: bytes)
        id = try reader.word()
        let flags = try reader.word()
        guard flags & 0x8000 != 0 else { throw .malformed("the message is a query, not a response") }
        truncated = flags & 0x0200 != 0
        responseCode = DNSResponseCode(rawValue: UInt8(flags & 0x000f))
        let questions = try reader.word()
        let answerCount = try reader.word()
        let authorityCount = try reader.word()
        let additionalCount = try reader.word()
        for _ in 0..<questions {
            _ = try reader.name()
            try reader.skip(4)
        }
        sectionCounts = (Int(answerCount), Int(authorityCount), Int(additionalCount))
        answers = try reader.records(Int(answerCount))
        // A truncated answer may end anywhere after its answers; what is missing is not an error.
        authority = truncated ? [] : try reader.records(Int(authorityCount))
        additional = truncated ? [] : try reader.records(Int(additionalCount))
    }

    static func appendName(_ name: String, to bytes: inout [UInt8]) throws(DNSMessageError) {
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        guard !trimmed.isEmpty else { throw .badName(name, "it is empty") }
        var total = 1
        for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
            let utf8 = Array(label.utf8)
            guard !utf8.isEmpty else { throw .badName(name, "it has an empty label") }
            guard utf8.count <= 63 else { throw .badName(name, "a label is longer than 63 bytes") }
            total += utf8.count + 1
            bytes.append(UInt8(utf8.count))
            bytes += utf8
        }
        guard total <= 255 else { throw .badName(name, "it is longer than 255 bytes") }
        bytes.append(0)
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func byte() throws(DNSMessageError) -> UInt8 {
            guard offset < bytes.count else { throw .malformed("the message ends early at byte \(offset)") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func word() throws(DNSMessageError) -> UInt16 {
            UInt16(try byte()) << 8 | UInt16(try byte())
        }

        mutating func long() throws(DNSMessageError) -> UInt32 {
            UInt32(try word()) << 16 | UInt32(try word())
        }

        mutating func skip(_ count: Int) throws(DNSMessageError) {
            guard offset + count <= bytes.count else { throw .malformed("the message ends early at byte \(offset)") }
            offset += count
        }

        mutating func take(_ count: Int) throws(DNSMessageError) -> [UInt8] {
            let start = offset
            try skip(count)
            return Array(bytes[start..<offset])
        }

        /// A name, following compression pointers (each must point backwards, so a loop cannot form).
        mutating func name() throws(DNSMessageError) -> String {
            var labels: [String] = []
            var position = offset
            var resumeAt: Int?
            var length = 0
            while true {
                guard position < bytes.count else { throw .malformed("a name runs past the end of the message") }
                let count = Int(bytes[position])
                if count & 0xc0 == 0xc0 {
                    guard position + 1 < bytes.count else { throw .malformed("a name pointer is cut off") }
                    let target = (count & 0x3f) << 8 | Int(bytes[position + 1])
                    guard target < position else { throw .malformed("a name pointer at byte \(position) does not point backwards") }
                    if resumeAt == nil { resumeAt = position + 2 }
                    position = target
                    continue
                }
                guard count & 0xc0 == 0 else { throw .malformed("a name label at byte \(position) has an unknown type") }
                position += 1
                if count == 0 { break }
                guard position + count <= bytes.count else { throw .malformed("a name label runs past the end of the message") }
                length += count + 1
                guard length <= 255 else { throw .malformed("a name is longer than 255 bytes") }
                labels.append(String(decoding: bytes[position..<position + count], as: UTF8.self))
                position += count
            }
            offset = resumeAt ?? position
            return labels.joined(separator: ".")
        }

        mutating func records(_ count: Int) throws(DNSMessageError) -> [DNSRecord] {
            var records: [DNSRecord] = []
            for _ in 0..<count {
                if let record = try record() { records.append(record) }
            }
            return records
        }

        /// A record of class IN; nil for other classes (CHAOS answers and the EDNS OPT pseudo-record).
        mutating func record() throws(DNSMessageError) -> DNSRecord? {
            let name = try name()
            let type = try word()
            let recordClass = try word()
            let ttl = try long()
            let length = Int(try word())
            let end = offset + length
            guard end <= bytes.count else { throw .malformed("a record of \(length) bytes runs past the end of the message") }
            defer { offset = end }
            guard recordClass == 1 else {
                try skip(length)
                return nil
            }
            let data: DNSRecord.Data
            switch DNSRecordType(rawValue: type) {
            case .a where length == 4:
                data = .address(try take(4).map(String.init).joined(separator: "."))
            case .aaaa where length == 16:
                data = .address(IPAddress.format(ipv6: try take(16)))
            case .cname, .ns, .ptr:
                data = .name(try self.name())
            case .srv where length >= 7:
                data = .service(priority: try word(), weight: try word(), port: try word(), target: try self.name())
            default:
                data = .other(type: type, bytes: try take(length))
            }
            guard offset <= end else { throw .malformed("a record's data is longer than its stated length") }
            return DNSRecord(name: name, type: type, ttl: ttl, data: data)
        }
    }
}

public enum DNSMessageError: Error, Equatable, CustomStringConvertible {
    case badName(String, String)
    case malformed(String)

    public var description: String {
        switch self {
        case .badName(let name, let why): "\"\(name)\" is not a DNS name: \(why)"
        case .malformed(let what): "malformed DNS response: \(what)"
        }
    }
}
