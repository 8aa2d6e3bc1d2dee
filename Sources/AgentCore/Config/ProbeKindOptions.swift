import Foundation

/// What a `dns://` probe accepts as success, in blackbox_exporter's keys: the response codes
/// that pass (`valid_rcodes`, default NOERROR) and patterns over the answer section's records,
/// each written as a zone-file line (`name.\tTTL\tIN\tA\t127.0.0.1`).
public struct DNSCheck: Sendable, Equatable {
    public var validResponseCodes: [DNSResponseCode] = [.noError]
    public var answers = RecordRules()

    public init(validResponseCodes: [DNSResponseCode] = [.noError], answers: RecordRules = RecordRules()) {
        self.validResponseCodes = validResponseCodes
        self.answers = answers
    }

    /// blackbox's `validate_answer_rrs`.
    public struct RecordRules: Sendable, Equatable {
        public var failIfMatches: [String] = []
        public var failIfNotMatches: [String] = []
        public var failIfAllMatch: [String] = []
        public var failIfNoneMatches: [String] = []

        public init(
            failIfMatches: [String] = [], failIfNotMatches: [String] = [], failIfAllMatch: [String] = [],
            failIfNoneMatches: [String] = []
        ) {
            self.failIfMatches = failIfMatches
            self.failIfNotMatches = failIfNotMatches
            self.failIfAllMatch = failIfAllMatch
            self.failIfNoneMatches = failIfNoneMatches
        }

        static let keys = [
            "fail_if_matches_regexp", "fail_if_not_matches_regexp", "fail_if_all_match_regexp", "fail_if_none_matches_regexp",
        ]

        /// The first rule `lines` break, said as the alert will say it; nil when all hold.
        /// (`fail_if_not_matches`: some record does not match; `fail_if_none_matches`: no record does.)
        func violation(_ lines: [String]) -> String? {
            func matches(_ line: String, _ pattern: String) -> Bool { (try? Regex(pattern)).map { line.contains($0) } ?? false }
            for pattern in failIfMatches {
                if let line = lines.first(where: { matches($0, pattern) }) { return "answer \"\(line)\" matches fail_if_matches_regexp \(pattern)" }
            }
            for pattern in failIfNotMatches {
                if let line = lines.first(where: { !matches($0, pattern) }) {
                    return "answer \"\(line)\" does not match fail_if_not_matches_regexp \(pattern)"
                }
            }
            for pattern in failIfAllMatch where !lines.isEmpty && lines.allSatisfy({ matches($0, pattern) }) {
                return "every answer matches fail_if_all_match_regexp \(pattern)"
            }
            for pattern in failIfNoneMatches where !lines.contains(where: { matches($0, pattern) }) {
                return lines.isEmpty
                    ? "no answer records, so none matches fail_if_none_matches_regexp \(pattern)"
                    : "no answer matches fail_if_none_matches_regexp \(pattern)"
            }
            return nil
        }
    }

    static let keys = ["valid_rcodes", "validate_answer_rrs"]

    init(_ node: ConfigNode) throws(ConfigError) {
        let mapping = try node.mapping(allowed: Self.keys)
        if let codes = mapping["valid_rcodes"] {
            validResponseCodes = try codes.sequence().map { (item: ConfigNode) throws(ConfigError) -> DNSResponseCode in
                let text = try item.string().uppercased()
                guard let code = (0...15).map({ DNSResponseCode(rawValue: UInt8($0)) }).first(where: { $0.description == text }) else {
                    throw item.error("\(item.path) is \"\(text)\"; a response code is NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP or REFUSED")
                }
                return code
            }
            guard !validResponseCodes.isEmpty else { throw codes.error("\(codes.path) is empty: no answer could pass") }
        }
        if let rules = mapping["validate_answer_rrs"] {
            let rules = try rules.mapping(allowed: RecordRules.keys)
            func patterns(_ key: String) throws(ConfigError) -> [String] {
                try rules[key]?.sequence().map { (item: ConfigNode) throws(ConfigError) in try item.regexPattern() } ?? []
            }
            answers = RecordRules(
                failIfMatches: try patterns("fail_if_matches_regexp"), failIfNotMatches: try patterns("fail_if_not_matches_regexp"),
                failIfAllMatch: try patterns("fail_if_all_match_regexp"), failIfNoneMatches: try patterns("fail_if_none_matches_regexp"))
        }
    }
}

/// How an `icmp://` probe pings: `packets` echo requests `packet_interval` apart; it fails when
/// more than `max_loss` of them go unanswered, and always when none is answered.
public struct ICMPOptions: Sendable, Equatable {
    public var packets = 1
    public var packetInterval = Duration.milliseconds(200)
    /// Percent; 100 means only a total loss fails.
    public var maxLossPercent = 100.0

    public init(packets: Int = 1, packetInterval: Duration = .milliseconds(200), maxLossPercent: Double = 100) {
        self.packets = packets
        self.packetInterval = packetInterval
        self.maxLossPercent = maxLossPercent
    }

    static let keys = ["packets", "packet_interval", "max_loss"]

    init(_ node: ConfigNode) throws(ConfigError) {
        let mapping = try node.mapping(allowed: Self.keys)
        packets = try mapping["packets"]?.int(in: 1...100) ?? packets
        packetInterval = try mapping["packet_interval"]?.positiveDuration() ?? packetInterval
        maxLossPercent = try mapping["max_loss"]?.percent() ?? maxLossPercent
    }
}

/// How a `tcp://` probe talks once connected, in blackbox_exporter's keys: `tls: true` makes the
/// connection TLS from the start (with the endpoint's `tls:` settings and certificate dates), and
/// `query_response` is a dialogue of lines, each step waiting for a line that matches `expect`
/// and then writing `send` and a newline. Blackbox's `starttls` (TLS upgraded mid-dialogue) is
/// not offered: libcurl, which owns the connection, cannot upgrade it.
public struct TCPOptions: Sendable, Equatable {
    public var tls = false
    public var queryResponse: [QueryStep] = []

    public struct QueryStep: Sendable, Equatable {
        /// A regular expression one received line must match before the step goes on.
        public var expect: String?
        /// Written after `expect` matched, with "\n" appended (blackbox's rule; end it with
        /// "\r" where the protocol wants CRLF, as SMTP does).
        public var send: String?

        public init(expect: String? = nil, send: String? = nil) {
            self.expect = expect
            self.send = send
        }
    }

    public init(tls: Bool = false, queryResponse: [QueryStep] = []) {
        self.tls = tls
        self.queryResponse = queryResponse
    }

    static let keys = ["tls", "query_response"]

    init(_ node: ConfigNode) throws(ConfigError) {
        let mapping = try node.mapping(allowed: Self.keys)
        tls = try mapping["tls"]?.bool() ?? false
        queryResponse = try mapping["query_response"]?.sequence().map { (item: ConfigNode) throws(ConfigError) -> QueryStep in
            let step = try item.mapping(allowed: ["expect", "send", "starttls"])
            if let starttls = step["starttls"] {
                throw starttls.error(
                    "\(starttls.path): starttls is not supported (libcurl owns the connection and cannot upgrade it); "
                        + "for a protocol that starts in TLS use tcp.tls: true or a tls:// URL")
            }
            let parsed = QueryStep(expect: try step["expect"]?.regexPattern(), send: try step["send"]?.string())
            guard parsed.expect != nil || parsed.send != nil else {
                throw item.error("\(item.path) needs expect, send or both")
            }
            return parsed
        } ?? []
    }
}
