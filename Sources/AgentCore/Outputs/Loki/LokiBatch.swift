/// One push request's worth of spooled results, built as records arrive: each line is rendered
/// once, when it is added, never again while the batch waits for company.
///
/// Lines are grouped into streams (job, instance, endpoint and the static labels), kept in spool
/// order, which for one endpoint is the order of its probes' start times: every stream stays in
/// order for Loki. Entries Loki would refuse as older than its 7-day limit are counted and left
/// out instead of being retried forever.
public struct LokiBatch: Sendable {
    public static let maxAge = Duration.seconds(7 * 86_400)
    /// Loki refuses a line over 256 KiB; probe lines are a few hundred bytes, but an error message
    /// is cut rather than losing the line.
    public static let maxLineBytes = 256 * 1024

    private let job: String
    private let node: String
    private let staticLabels: [LokiConfig.StreamLabel]
    public let maxBytes: Int
    private var streamIndex: [String: Int] = [:]
    /// Each stream's labels object and its values (`["<ns>","<line>"]`, comma-separated), as bytes.
    private var streams: [(labels: [UInt8], values: [UInt8])] = []
    public private(set) var lines = 0
    public private(set) var lineBytes = 0
    public private(set) var tooOld = 0
    /// The last spool record the batch covers, sent or left out: the cursor after acceptance.
    public private(set) var lastSequence: UInt64?

    public init(job: String, node: String, staticLabels: [LokiConfig.StreamLabel], maxBytes: Int) {
        self.job = job
        self.node = node
        self.staticLabels = staticLabels
        self.maxBytes = maxBytes
    }

    public var isEmpty: Bool { lastSequence == nil }

    /// Adds a record unless its line would take the batch past `maxBytes` (a batch always takes
    /// its first line, so it makes progress); false when it did not fit.
    /// - Parameter labels: the endpoint's labels to copy into its stream, when it opens one.
    public mutating func add(_ entry: SpoolEntry<ProbeResult>, now: Timestamp, labels: EndpointLabels = .init()) -> Bool {
        let result = entry.value
        if result.startedAt < now - Self.maxAge {
            tooOld += 1
            lastSequence = entry.sequence
            return true
        }
        var line = result.jsonLineBytes(node: node)
        if line.count > Self.maxLineBytes { line = Array(String(decoding: line.prefix(Self.maxLineBytes), as: UTF8.self).utf8) }
        if lines > 0, lineBytes + line.count > maxBytes { return false }
        let index: Int
        if let known = streamIndex[result.endpoint] {
            index = known
            streams[index].values.append(UInt8(ascii: ","))
        } else {
            index = streams.count
            streamIndex[result.endpoint] = index
            streams.append((streamLabels(endpoint: result.endpoint, labels: labels), []))
        }
        streams[index].values.append(contentsOf: "[\"\(result.startedAt.unixNanoseconds)\",".utf8)
        JSONLine.appendQuoted(utf8: line, to: &streams[index].values)
        streams[index].values.append(UInt8(ascii: "]"))
        lines += 1
        lineBytes += line.count
        lastSequence = entry.sequence
        return true
    }

    /// The request body (before gzip).
    public var body: [UInt8] {
        var body = Array("{\"streams\":[".utf8)
        body.reserveCapacity(lineBytes + streams.count * 128 + lines * 32)
        for (index, stream) in streams.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: "{\"stream\":".utf8)
            body.append(contentsOf: stream.labels)
            body.append(contentsOf: ",\"values\":[".utf8)
            body.append(contentsOf: stream.values)
            body.append(contentsOf: "]}".utf8)
        }
        body.append(contentsOf: "]}".utf8)
        return body
    }

    private func streamLabels(endpoint: String, labels endpointLabels: EndpointLabels) -> [UInt8] {
        var labels = JSONLine()
        labels.add("job", job)
        labels.add("instance", node)
        labels.add("endpoint", endpoint)
        for label in staticLabels { labels.add(label.name, label.value) }
        for pair in endpointLabels.pairs { labels.add(pair.name, pair.value) }
        return labels.lineBytes
    }
}
