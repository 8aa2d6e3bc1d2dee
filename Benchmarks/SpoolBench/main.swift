// spool-bench: the spool, the Pushgateway push and the Loki drain measured, for BENCHMARKS.md.
//   spool-bench DIR RECORDS BATCH [PUSHGATEWAY_URL]
//   spool-bench loki DIR RECORDS BYTES_PER_SECOND   (drain a backlog to a local counting receiver)
//   spool-bench alerts ENDPOINTS                     (first failing probe → webhook, all endpoints failing)
//   spool-bench push-retry DIR RECORDS               (the cost of each Pushgateway retry after a backlog)
//   spool-bench resume PUSHGATEWAY_URL OUTAGE_SECONDS (time-to-resume of each output after an outage)
// Prints key=value lines: durable append rate with BATCH results per group commit, read-back
// rate, retention-trim rate, and (with a gateway) PUT latency of a 1,000-endpoint fold.
import AgentCore
import Foundation
import Logging
import NIOConcurrencyHelpers

/// Collects the spool's debug logs, to read its trim timings.
struct CollectingHandler: LogHandler {
    let events: NIOLockedValueBox<[(String, Logger.Metadata)]>
    var logLevel: Logger.Level = .debug
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { events.withLockedValue { $0.append((event.message.description, event.metadata ?? [:])) } }
}

func seconds(_ start: MonotonicInstant) -> Double { (MonotonicInstant.now - start).inSeconds }

let arguments = CommandLine.arguments
if arguments.count == 3, arguments[1] == "alerts", let endpoints = Int(arguments[2]) {
    try await AlertLatencyBench.run(endpoints: endpoints)
    exit(0)
}
if arguments.count == 4, arguments[1] == "resume", let outage = Int(arguments[3]) {
    try await ResumeBench.run(pushgateway: arguments[2], outage: .seconds(outage))
    exit(0)
}
if arguments.count == 4, arguments[1] == "push-retry", let records = Int(arguments[3]) {
    try await PushRetryBench.run(directory: arguments[2], records: records)
    exit(0)
}
if arguments.count == 5, arguments[1] == "loki", let records = Int(arguments[3]), let rate = Int(arguments[4]) {
    try await LokiDrainBench.run(directory: arguments[2], records: records, bytesPerSecond: rate)
    exit(0)
}
guard arguments.count >= 4, let total = Int(arguments[2]), let batch = Int(arguments[3]), total > 0, batch > 0 else {
    print("usage: spool-bench DIR RECORDS BATCH [PUSHGATEWAY_URL]")
    exit(2)
}
let directory = arguments[1]
try? FileManager.default.removeItem(atPath: directory)
let events = NIOLockedValueBox<[(String, Logger.Metadata)]>([])
let logger = Logger(label: "bench") { _ in CollectingHandler(events: events) }
let spool = try Spool(config: SpoolConfig(path: directory, maxSize: 4 << 30, retain: .zero), readers: [.pushgateway], logger: logger)

let now = Timestamp.now - .seconds(1)
let result = { (index: Int) in BenchResults.result(index, from: now) }

// 1. Durable appends: BATCH results, then wait for their group commit.
/// CPU seconds of the whole process (all threads), from clock(3).
func cpuSeconds() -> Double { Double(clock()) / Double(CLOCKS_PER_SEC) }
let results = (0..<total).map(result)
let cpu0 = cpuSeconds()
var start = MonotonicInstant.now
var written = 0
while written < total {
    let count = min(batch, total - written)
    for index in written..<written + count { spool.append(results[index]) }
    try await spool.flush()
    written += count
}
let appendSeconds = seconds(start)
let cpu1 = cpuSeconds()
let stats = try spool.statistics(readers: [.pushgateway])
print(
    "append records=\(total) batch=\(batch) seconds=\(String(format: "%.3f", appendSeconds)) "
        + "records_per_s=\(Int(Double(total) / appendSeconds)) commits_per_s=\(Int(Double((total + batch - 1) / batch) / appendSeconds)) "
        + "cpu_us_per_record=\(String(format: "%.2f", (cpu1 - cpu0) * 1e6 / Double(total))) "
        + "bytes_per_record=\(stats.bytes / max(1, stats.records))")

// 2. Read-back in the Pushgateway reader's chunks, decoding every record.
start = .now
var cursor: UInt64 = 0
var read = 0
while true {
    let records = try spool.results(after: cursor, limit: 10_000)
    guard let last = records.last else { break }
    read += records.count
    cursor = last.sequence
}
let readSeconds = seconds(start)
print("read records=\(read) seconds=\(String(format: "%.3f", readSeconds)) records_per_s=\(Int(Double(read) / readSeconds))")

// 3. Retention trim: the reader has passed everything and retain is 0; the writer trims 50,000
// per pass, once a second. The rate is the trim transactions' own time.
try await spool.commit(.pushgateway, cursor: cursor, state: nil)
let deadline = MonotonicInstant.now + .seconds(120)
let trimStarted = MonotonicInstant.now
while (try spool.statistics(readers: []).records) > 0, MonotonicInstant.now < deadline {
    try await Task.sleep(for: .milliseconds(100))
}
let trims = events.withLockedValue { $0 }.filter { $0.0 == "spool trimmed records past retention" }
let trimmed = trims.compactMap { Int("\($0.1["records"]!)") }.reduce(0, +)
let trimMicros = trims.compactMap { Int("\($0.1["microseconds"]!)") }.reduce(0, +)
// The writer trims 50,000 per pass, one pass a second; the rate is the passes' own transaction time.
print("trim records=\(trimmed) passes=\(trims.count) seconds=\(String(format: "%.1f", seconds(trimStarted))) records_per_s=\(trimMicros > 0 ? trimmed * 1_000_000 / trimMicros : 0)")
await spool.close()

// 4. Push latency of a 1,000-endpoint fold (every family), plain and gzip, to a real gateway.
if arguments.count >= 5 {
    var fold = MetricFold(buckets: PushgatewayConfig.defaultBuckets, uptimeWindow: .seconds(3600))
    for index in 0..<5000 { fold.add(result(index)) }
    let agent = AgentConfig(node: "bench-node", job: "spool-bench")
    for gzip in [false, true] {
        var config = PushgatewayConfig(connection: ConnectionConfig(url: arguments[4]))
        config.gzip = gzip
        let group = PushgatewayGroup(config: config, agent: agent, scrubber: { SecretScrubber() }, logger: logger)
        start = .now
        let families = fold.metricFamilies()
        let body = ExpositionWriter.render(families)
        let renderSeconds = seconds(start)
        var latencies: [Double] = []
        for _ in 0..<20 {
            start = .now
            let response = try await group.replace(with: families).get()
            guard (200..<300).contains(response.status) else { fatalError("push failed: \(response.status) \(response.body)") }
            latencies.append(seconds(start) * 1000)
        }
        latencies.sort()
        print(
            "push endpoints=1000 gzip=\(gzip) body_bytes=\(body.count) series=\(body.split(separator: UInt8(ascii: "\n")).filter { $0.first != UInt8(ascii: "#") }.count) "
                + "render_ms=\(String(format: "%.1f", renderSeconds * 1000)) put_ms_p50=\(String(format: "%.1f", latencies[10])) "
                + "put_ms_max=\(String(format: "%.1f", latencies.last!))")
        _ = await group.delete()
    }
}
