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
    private var streams: [(labels: String, values: String)] = []
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
    public mutating func add(_ entry: SpoolEntry<ProbeResult>, now: Timestamp) -> Bool {
        let result = entry.value
        if result.startedAt < now - Self.maxAge {
            tooOld += 1
            lastSequence = entry.sequence
            return true
        }
        var line = result.jsonLine(node: node)
        if line.utf8.count > Self.maxLineBytes { line = String(decoding: line.utf8.prefix(Self.maxLineBytes), as: UTF8.self) }
        if lines > 0, lineBytes + line.utf8.count > maxBytes { return false }
        var value = "[\"\(result.startedAt.unixNanoseconds)\","
        JSONLine.appendQuoted(line, to: &value)
        value += "]"
        if let index = streamIndex[result.endpoint] {
            streams[index].values += "," + value
        } else {
            streamIndex[result.endpoint] = streams.count
            streams.append((streamLabels(endpoint: result.endpoint), value))
        }
        lines += 1
        lineBytes += line.utf8.count
        lastSequence = entry.sequence
        return true
    }

    /// The request body (before gzip).
    public var body: String {
        "{\"streams\":[" + streams.map { "{\"stream\":\($0.labels),\"values\":[\($0.values)]}" }.joined(separator: ",") + "]}"
    }

    private func streamLabels(endpoint: String) -> String {
        var labels = JSONLine()
        labels.add("job", job)
        labels.add("instance", node)
        labels.add("endpoint", endpoint)
        for label in staticLabels { labels.add(label.name, label.value) }
        return labels.line
    }
}
