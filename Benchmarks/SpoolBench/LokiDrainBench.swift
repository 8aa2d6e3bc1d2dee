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
        try? FileManager.default.removeItem(atPath: directory)
        let receiver = try CountingReceiver()
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let settings = SpoolSettings(path: directory, maxSize: 8 << 30)
        let spool = try Spool(settings: settings, readers: [LokiConfig.readerName], logger: logger)
        let start = WallClock.now() - 3_600_000_000_000
        for index in 0..<records {
            spool.append(ProbeResult(
                endpoint: "endpoint-\(index % 1000)", url: "https://service-\(index % 1000).example.com/health", method: "GET",
                connection: .cold, startedAt: start + Int64(index) * 1000,
                timings: PhaseTimings(dns: 120, connect: 310, tls: 2100, processing: 41_000, transfer: 80, total: 43_700),
                statusCode: 200, httpVersion: "1.1", bytesReceived: 2, remoteIP: "10.0.0.1", certificateExpiry: 1_800_000_000))
            if index % 10_000 == 9_999 { try await spool.flush() }
        }
        try await spool.flush()
        let config = LokiConfig(
            connection: OutputConnection(url: "http://127.0.0.1:\(receiver.port)/loki/api/v1/push"), maxBytesPerSecond: bytesPerSecond,
            gzip: false)
        let output = LokiOutput(config: config, agent: AgentSettings(node: "bench"), spool: spool, health: OutputHealth(), logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: output)], logger: logger))
        let began = MonotonicClock.now()
        print("| seconds | lines delivered | lines/s | RSS MB | private (anonymous) MB |")
        print("|---|---|---|---|---|")
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var last = 0
            while true {
                try await Task.sleep(for: .seconds(5))
                let lines = receiver.lines.withLockedValue { $0 }
                let seconds = Double(MonotonicClock.now() - began) / 1e9
                print(String(format: "| %.0f | %d | %d | %.1f | %.1f |", seconds, lines, (lines - last) / 5, memory("VmRSS", "status"), memory("Private_Dirty", "smaps_rollup")))
                last = lines
                if lines >= records || seconds > 300 { break }
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let seconds = Double(MonotonicClock.now() - began) / 1e9
        let lines = receiver.lines.withLockedValue { $0 }
        print("loki drain: \(lines) lines in \(String(format: "%.1f", seconds)) s = \(Int(Double(lines) / seconds)) lines/s, \(receiver.bytes.withLockedValue { $0 } / lines) bytes/line on the wire (no gzip)")
        await spool.close()
    }

    static func memory(_ field: String, _ file: String) -> Double {
        let text = (try? String(contentsOfFile: "/proc/self/\(file)", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
        return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
    }
}

/// Answers 204 to every push and counts its entries. The bench sends without gzip, so the
/// receiver can count entries in the raw JSON.
final class CountingReceiver: Sendable {
    let port: Int
    let lines = NIOLockedValueBox(0)
    let bytes = NIOLockedValueBox(0)
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    init() throws {
        let lines = lines
        let bytes = bytes
        let channel = try ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(CountingHandler(lines: lines, bytes: bytes))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        port = channel.localAddress?.port ?? 0
    }
}

private final class CountingHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let lines: NIOLockedValueBox<Int>
    let bytes: NIOLockedValueBox<Int>
    var body = ByteBuffer()

    init(lines: NIOLockedValueBox<Int>, bytes: NIOLockedValueBox<Int>) {
        self.lines = lines
        self.bytes = bytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: body.clear()
        case .body(var chunk): body.writeBuffer(&chunk)
        case .end:
            let size = body.readableBytes
            // The entries of a batch: each value is `["<ns>","<line>"]`, so count `["`.
            let count = body.readableBytesView.withContiguousStorageIfAvailable { Self.entries(in: $0) } ?? 0
            lines.withLockedValue { $0 += count }
            bytes.withLockedValue { $0 += size }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .noContent))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    static func entries(in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        var index = 1
        while index < bytes.count {
            if bytes[index - 1] == UInt8(ascii: "["), bytes[index] == UInt8(ascii: "\"") { count += 1 }
            index += 1
        }
        return count
    }
}
