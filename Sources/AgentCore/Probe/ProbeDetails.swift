/// What a probe learnt beyond its timings and outcome, per kind: the TLS session of any TLS
/// probe, the answer counts of a DNS query, the packets of an ICMP echo, the status of a gRPC
/// health check. Each part is nil when the probe's kind has none, so the common HTTP result
/// stays small in the spool (a part costs bytes only when present).
public struct ProbeDetails: Sendable, Equatable {
    /// As blackbox_exporter names it: `TLS 1.3`, `TLS 1.2`.
    public var tlsVersion: String?
    /// OpenSSL's name of the negotiated cipher, e.g. `TLS_AES_256_GCM_SHA384`.
    public var tlsCipher: String?
    /// The response's `Content-Length`; nil when it sent none (blackbox shows -1).
    public var contentLength: Int64?
    public var dns: DNS?
    public var icmp: ICMP?
    public var grpc: GRPC?

    public init(
        tlsVersion: String? = nil, tlsCipher: String? = nil, contentLength: Int64? = nil, dns: DNS? = nil, icmp: ICMP? = nil,
        grpc: GRPC? = nil
    ) {
        self.tlsVersion = tlsVersion
        self.tlsCipher = tlsCipher
        self.contentLength = contentLength
        self.dns = dns
        self.icmp = icmp
        self.grpc = grpc
    }

    public var isEmpty: Bool { self == ProbeDetails() }

    /// A DNS answer's response code and the size of its sections.
    public struct DNS: Sendable, Equatable {
        public var responseCode: DNSResponseCode
        public var answers: Int
        public var authority: Int
        public var additional: Int

        public init(responseCode: DNSResponseCode, answers: Int, authority: Int, additional: Int) {
            self.responseCode = responseCode
            self.answers = answers
            self.authority = authority
            self.additional = additional
        }
    }

    /// Echo requests sent and replies received; the hop limit of the last reply where the socket
    /// shows it (raw IPv4 sockets carry the IP header).
    public struct ICMP: Sendable, Equatable {
        public var sent: Int
        public var received: Int
        public var replyHopLimit: Int?

        public init(sent: Int, received: Int, replyHopLimit: Int? = nil) {
            self.sent = sent
            self.received = received
            self.replyHopLimit = replyHopLimit
        }

        /// Lost replies, in percent of the requests sent.
        public var lossPercent: Double { sent == 0 ? 0 : Double(sent - received) * 100 / Double(sent) }
    }

    /// The gRPC status of the health check call (0 is OK) and the serving status it answered.
    public struct GRPC: Sendable, Equatable {
        public var statusCode: Int
        public var servingStatus: GRPCServingStatus?

        public init(statusCode: Int, servingStatus: GRPCServingStatus?) {
            self.statusCode = statusCode
            self.servingStatus = servingStatus
        }
    }
}

/// `grpc.health.v1.HealthCheckResponse.ServingStatus`, by its protobuf number.
public enum GRPCServingStatus: Int, Sendable, Equatable, CaseIterable {
    case unknown = 0
    case serving = 1
    case notServing = 2
    case serviceUnknown = 3

    /// The enum's protobuf name, which blackbox_exporter puts in its `serving_status` label.
    public var name: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .serving: "SERVING"
        case .notServing: "NOT_SERVING"
        case .serviceUnknown: "SERVICE_UNKNOWN"
        }
    }
}

extension ProbeDetails {
    /// Tagged parts, each written only when present, ended by tag 0: a later version adds tags
    /// without touching the ones written before. The spool and the metric fold share it.
    func encode(into writer: inout ByteWriter) {
        if let tlsVersion {
            writer.byte(1)
            writer.string(tlsVersion)
        }
        if let tlsCipher {
            writer.byte(2)
            writer.string(tlsCipher)
        }
        if let contentLength {
            writer.byte(3)
            writer.signed(contentLength)
        }
        if let dns {
            writer.byte(4)
            writer.byte(dns.responseCode.rawValue)
            for count in [dns.answers, dns.authority, dns.additional] { writer.unsigned(UInt64(count)) }
        }
        if let icmp {
            writer.byte(5)
            writer.unsigned(UInt64(icmp.sent))
            writer.unsigned(UInt64(icmp.received))
            writer.signed(Int64(icmp.replyHopLimit ?? -1))
        }
        if let grpc {
            writer.byte(6)
            writer.signed(Int64(grpc.statusCode))
            writer.signed(Int64(grpc.servingStatus?.rawValue ?? -1))
        }
        writer.byte(0)
    }

    init(reading reader: inout ByteReader) throws(ByteReader.Malformed) {
        self.init()
        while true {
            switch try reader.byte() {
            case 0: return
            case 1: tlsVersion = try reader.string()
            case 2: tlsCipher = try reader.string()
            case 3: contentLength = try reader.signed()
            case 4:
                let code = DNSResponseCode(rawValue: try reader.byte())
                dns = DNS(
                    responseCode: code, answers: Int(try reader.unsigned()), authority: Int(try reader.unsigned()),
                    additional: Int(try reader.unsigned()))
            case 5:
                let sent = Int(try reader.unsigned())
                let received = Int(try reader.unsigned())
                let hopLimit = try reader.int()
                icmp = ICMP(sent: sent, received: received, replyHopLimit: hopLimit < 0 ? nil : hopLimit)
            case 6:
                let status = try reader.int()
                grpc = GRPC(statusCode: status, servingStatus: GRPCServingStatus(rawValue: try reader.int()))
            default: throw ByteReader.Malformed()
            }
        }
    }
}
