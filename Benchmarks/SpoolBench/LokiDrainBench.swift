import AgentCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// Fills a spool with RECORDS results, then lets the Loki output drain them into a receiver on
/// loopback that only counts lines (so the receiver is never the bottleneck), printing the
/// delivery rate and the agent's memory every few seconds.
enum LokiDrainBench {
    static func run(directory: String, records: Int, bytesPerSecond: Int) async throws {
        let lines = NIOLockedValueBox(0)
        let wireBytes = NIOLockedValueBox(0)
        let receiver = try LoopbackReceiver(status: .noContent) { body in
            lines.withLockedValue { $0 += LoopbackReceiver.lokiEntries(in: body) }
            wireBytes.withLockedValue { $0 += body.readableBytes }
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let settings = SpoolConfig(path: directory, maxSize: 8 << 30)
        let spool = try await BenchResults.filledSpool(settings, records: records, reader: .loki, logger: logger)
        var config = LokiConfig(connection: ConnectionConfig(url: "http://127.0.0.1:\(receiver.port)/loki/api/v1/push"))
        config.maxBytesPerSecond = bytesPerSecond
        config.gzip = false
        let client = OutputHTTPClient(name: "loki", connection: config.connection, scrubber: { SecretScrubber() })
        let live = LiveConfig(Configuration(agent: AgentConfig(node: "bench"), spool: settings, endpoints: []))
        let output = SpoolReader(
            name: .loki, policy: LokiPolicy(config: config, job: "latency-agent", node: "bench"), retry: config.retry,
            source: .results, spool: spool, live: live, health: ReaderHealth(), subject: "loki", noun: "push",
            transport: { await client.send($0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: output)], logger: logger))
        let began = MonotonicInstant.now
        print("| seconds | lines delivered | lines/s | RSS MB | private (anonymous) MB |")
        print("|---|---|---|---|---|")
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var last = 0
            while true {
                try await Task.sleep(for: .seconds(5))
                let delivered = lines.withLockedValue { $0 }
                let seconds = (MonotonicInstant.now - began).inSeconds
                print(String(format: "| %.0f | %d | %d | %.1f | %.1f |", seconds, delivered, (delivered - last) / 5, memory("VmRSS", "status"), memory("Private_Dirty", "smaps_rollup")))
                last = delivered
                if delivered >= records || seconds > 300 { break }
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let seconds = (MonotonicInstant.now - began).inSeconds
        let delivered = lines.withLockedValue { $0 }
        print("loki drain: \(delivered) lines in \(String(format: "%.1f", seconds)) s = \(Int(Double(delivered) / seconds)) lines/s, \(wireBytes.withLockedValue { $0 } / max(1, delivered)) bytes/line on the wire (no gzip)")
        await spool.close()
    }

    static func memory(_ field: String, _ file: String) -> Double {
        let text = (try? String(contentsOfFile: "/proc/self/\(file)", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
        return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
    }
}

/// The results every benchmark writes: a thousand HTTPS endpoints' worth of realistic records.
enum BenchResults {
    /// A spool holding `records` results from the last hour, none yet handled by `reader`.
    static func filledSpool(_ settings: SpoolConfig, records: Int, reader: ReaderName, logger: Logger) async throws -> Spool {
        try? FileManager.default.removeItem(atPath: settings.path)
        let spool = try Spool(config: settings, readers: [reader], logger: logger)
        let start = Timestamp.now - .seconds(3600)
        for index in 0..<records {
            spool.append(result(index, from: start, step: .microseconds(1)))
            if index % 10_000 == 9_999 { try await spool.flush() }
        }
        try await spool.flush()
        return spool
    }

    static func result(_ index: Int, from start: Timestamp, step: Duration = .nanoseconds(1)) -> ProbeResult {
        func us(_ value: Int64) -> Duration { .microseconds(value) }
        return ProbeResult(
            endpoint: "endpoint-\(index % 1000)", url: "https://service-\(index % 1000).example.com/health", method: "GET",
            connection: .cold, startedAt: start + step * index,
            timings: PhaseTimings(
                resolve: us(120), connect: us(310), tls: us(2100), processing: us(41_000 + Int64(index % 5000)), transfer: us(80),
                total: us(43_700)),
            statusCode: 200, httpVersion: "1.1", bytesReceived: 2, remoteIP: "127.0.0.\(index % 250 + 1)",
            certificateExpiry: Timestamp(unixSeconds: 1_800_000_000), chainEarliestExpiry: Timestamp(unixSeconds: 1_790_000_000))
    }
}

/// A loopback HTTP server for the benchmarks: answers every request with `status` and `reply`
/// and hands each body to `onBody`, never being the bottleneck itself.
final class LoopbackReceiver: Sendable {
    let port: Int
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    init(status: HTTPResponseStatus, reply: String = "", onBody: @escaping @Sendable (ByteBuffer) -> Void) throws {
        let channel = try ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ReceiverHandler(status: status, reply: reply, onBody: onBody))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        port = channel.localAddress?.port ?? 0
    }

    /// Entries of a Loki push body (sent without gzip): each value is `["<ns>","<line>"]`.
    static func lokiEntries(in body: ByteBuffer) -> Int {
        body.readableBytesView.withContiguousStorageIfAvailable { bytes in
            var count = 0
            for index in bytes.indices.dropFirst() where bytes[index - 1] == UInt8(ascii: "[") && bytes[index] == UInt8(ascii: "\"") {
                count += 1
            }
            return count
        } ?? 0
    }
}

private final class ReceiverHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let status: HTTPResponseStatus
    let reply: String
    let onBody: @Sendable (ByteBuffer) -> Void
    var body = ByteBuffer()

    init(status: HTTPResponseStatus, reply: String, onBody: @escaping @Sendable (ByteBuffer) -> Void) {
        self.status = status
        self.reply = reply
        self.onBody = onBody
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: body.clear()
        case .body(var chunk): body.writeBuffer(&chunk)
        case .end:
            onBody(body)
            let headers = HTTPHeaders([("Content-Length", "\(reply.utf8.count)")])
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: reply)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
