/// One push request's worth of spooled results, built without I/O.
///
/// Lines are grouped into streams (job, instance, endpoint and the static labels), kept in spool
/// order, which for one endpoint is the order of its probes' start times: every stream stays in
/// order for Loki. Entries Loki would refuse as older than its 7-day limit are counted and left
/// out instead of being retried forever.
public struct LokiBatch: Sendable, Equatable {
    /// The request body (before gzip).
    public var body: String
    /// The last spool record the batch covers, sent or left out; the cursor after acceptance.
    public var lastSequence: UInt64
    public var lines: Int
    public var lineBytes: Int
    /// Records older than Loki accepts, left out.
    public var tooOld: Int

    public static let maxAge: Int64 = 7 * 86_400 * 1_000_000_000
    /// Loki refuses a line over 256 KiB; probe lines are a few hundred bytes, but an error message
    /// is cut rather than losing the line.
    public static let maxLineBytes = 256 * 1024

    /// Takes records from the front of `records` until the lines reach `maxBytes` (at least one
    /// record, so a batch always makes progress). Nil when `records` is empty.
    public static func build(
        _ records: [SpoolRecord], staticLabels: [(name: String, value: String)], job: String, node: String,
        now: Int64, maxBytes: Int
    ) -> LokiBatch? {
        guard let first = records.first else { return nil }
        var streams: [String: Int] = [:]
        var order: [(labels: String, values: String)] = []
        var batch = LokiBatch(body: "", lastSequence: first.sequence, lines: 0, lineBytes: 0, tooOld: 0)
        for record in records {
            let result = record.result
            if result.startedAt < now - maxAge {
                batch.tooOld += 1
                batch.lastSequence = record.sequence
                continue
            }
            var line = result.jsonLine(node: node)
            if line.utf8.count > maxLineBytes { line = String(decoding: line.utf8.prefix(maxLineBytes), as: UTF8.self) }
            if batch.lines > 0, batch.lineBytes + line.utf8.count > maxBytes { break }
            var entry = "[\"\(result.startedAt)\","
            JSONLine.appendQuoted(line, to: &entry)
            entry += "]"
            let key = result.endpoint
            if let index = streams[key] {
                order[index].values += "," + entry
            } else {
                streams[key] = order.count
                order.append((streamLabels(job: job, node: node, endpoint: key, extra: staticLabels), entry))
            }
            batch.lines += 1
            batch.lineBytes += line.utf8.count
            batch.lastSequence = record.sequence
        }
        batch.body = "{\"streams\":[" + order.map { "{\"stream\":\($0.labels),\"values\":[\($0.values)]}" }.joined(separator: ",") + "]}"
        return batch
    }

    private static func streamLabels(job: String, node: String, endpoint: String, extra: [(name: String, value: String)]) -> String {
        var labels = JSONLine()
        labels.add("job", job)
        labels.add("instance", node)
        labels.add("endpoint", endpoint)
        for (name, value) in extra { labels.add(name, value) }
        return labels.line
    }
}

/// What the Loki reader does after a push, from Loki's answer alone.
///
/// 2xx: commit. 429, 5xx, no answer: back off and send the same records again (honouring
/// `Retry-After`); the spool holds the backlog. Any other 4xx (400 invalid or partly written,
/// 401 no tenant, 413 too large, 422 no streams…): resending cannot help and a 400 may already
/// be partly stored, so the lines are counted as rejected and the cursor moves on.
public enum LokiDecision: Equatable, Sendable {
    case accepted
    case rejected(status: Int, reason: String)
    case retry(reason: String, after: Duration?)

    public init(_ outcome: Result<OutputResponse, TransportError>) {
        switch outcome {
        case .success(let response) where (200..<300).contains(response.status):
            self = .accepted
        case .success(let response) where response.status == 429 || response.status >= 500:
            self = .retry(reason: "HTTP \(response.status): \(response.body.prefix(200))", after: response.retryAfter)
        case .success(let response):
            self = .rejected(status: response.status, reason: String(response.body.prefix(500)))
        case .failure(let error):
            self = .retry(reason: error.description, after: nil)
        }
    }
}

/// Paces sends to a byte rate: after sending `bytes`, the next send waits until they would have
/// taken `bytes / rate` at that rate. Pure; the caller sleeps.
public struct LokiPacer: Sendable, Equatable {
    public let bytesPerSecond: Int

    public init(bytesPerSecond: Int) {
        self.bytesPerSecond = max(1, bytesPerSecond)
    }

    /// How long to wait after a send of `bytes` that took `elapsed`.
    public func pause(afterSending bytes: Int, took elapsed: Duration) -> Duration {
        let budget = Duration.nanoseconds(Int64(Double(bytes) / Double(bytesPerSecond) * 1e9))
        return max(.zero, budget - elapsed)
    }
}
