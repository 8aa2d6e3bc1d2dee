import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A real HTTP (or HTTPS) server on 127.0.0.1 with an ephemeral port, running on its own NIO
/// thread, with the behaviours the prober must classify:
///
/// - `/ok` 200 "ok"; `/status/N` status N; `/delay/MS` 200 after MS milliseconds
/// - `/redirect/N` a chain of N redirects ending at `/ok`; `/loop` redirects to itself
/// - `/bytes/N` a body of N bytes; `/drip` one byte every 100 ms, for at most 30 s
/// - `/health/STATE` answers 200 with `{"status":"STATE",…}`, as Spring Boot's actuator does
/// - `/headers` echoes the request headers as `name: value` lines
/// - `/big-header/N` answers with one response header of N bytes
/// - `/echo` answers with the request line and headers, as a misbehaving proxy would
/// - `/flap` answers 200 and 503 in turn
///
/// Every request is counted by path, so tests can compare what was probed with what arrived.
public final class TargetServer: Sendable {
    public let port: Int
    public let host: String
    public let scheme: String
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let counts: NIOLockedValueBox<[String: Int]>
    /// How long each delayed answer was actually held, in microseconds: event-loop timers can fire
    /// late on a busy machine, and timing tests compare against what really happened.
    private let heldFor: NIOLockedValueBox<[Duration]>

    /// - Parameters:
    ///   - host: a loopback address (127.0.0.2, … for several "hosts").
    ///   - port: 0 for a free one; a given one lets several hosts share it, as DNS A records need.
    public init(tls: TestCertificates? = nil, host: String = "127.0.0.1", port: Int = 0) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let counts = NIOLockedValueBox<[String: Int]>([:])
        let heldFor = NIOLockedValueBox<[Duration]>([])
        let sslContext = try tls.map { try $0.serverContext() }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 512)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(TargetHandler(counts: counts, heldFor: heldFor))
                }
            }
        do {
            self.channel = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        self.group = group
        self.counts = counts
        self.heldFor = heldFor
        self.port = channel.localAddress?.port ?? 0
        self.host = host
        self.scheme = tls == nil ? "http" : "https"
    }

    public func url(_ path: String) -> String {
        "\(scheme)://\(host):\(port)\(path)"
    }

    /// The actual hold times of `/delay/…` answers so far, in order.
    public var delaysHeld: [Duration] { heldFor.withLockedValue { $0 } }

    public func requests(to path: String) -> Int {
        counts.withLockedValue { $0[path] ?? 0 }
    }

    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

private final class TargetHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let counts: NIOLockedValueBox<[String: Int]>
    private let heldFor: NIOLockedValueBox<[Duration]>
    private var head: HTTPRequestHead?

    init(counts: NIOLockedValueBox<[String: Int]>, heldFor: NIOLockedValueBox<[Duration]>) {
        self.counts = counts
        self.heldFor = heldFor
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            counts.withLockedValue { $0[head.uri, default: 0] += 1 }
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        // A request through a forward proxy names the whole URL (absolute form); this server
        // then answers as the proxy that fetched it would, and counts it under that URL.
        var path = head.uri
        if let scheme = path.range(of: "://"), let slash = path[scheme.upperBound...].firstIndex(of: "/") {
            path = String(path[slash...])
        }
        let parts = path.split(separator: "/").map(String.init)
        let number = parts.count > 1 ? Int(parts[1]) : nil
        switch (parts.first ?? "", number) {
        case ("ok", _):
            send(.ok, body: "ok", context: context)
        case ("status", let code?):
            send(HTTPResponseStatus(statusCode: code), body: "status \(code)", context: context)
        case ("delay", let milliseconds?):
            let received = NIODeadline.now()
            respond(after: received + .milliseconds(Int64(milliseconds)), since: received, context: context)
        case ("redirect", let hops?):
            let location = hops <= 1 ? "/ok" : "/redirect/\(hops - 1)"
            send(.found, body: "", headers: [("Location", location)], context: context)
        case ("loop", _):
            send(.found, body: "", headers: [("Location", "/loop")], context: context)
        case ("bytes", let count?):
            send(.ok, body: String(repeating: "x", count: count), context: context)
        case ("drip", _):
            drip(context: context)
        case ("health", _):
            // A JSON health body that says how things are while the status stays 200.
            let state = parts.count > 1 ? parts[1] : "UP"
            send(.ok, body: #"{"status":"\#(state)","checks":[{"name":"db","latency_ms":12}]}"#, context: context)
        case ("headers", _):
            send(.ok, body: head.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n"), context: context)
        case ("big-header", let size?):
            send(.ok, body: "ok", headers: [("X-Big", String(repeating: "h", count: size))], context: context)
        case ("flap", _):
            let turn = counts.withLockedValue { $0[head.uri, default: 0] }
            send(turn % 2 == 0 ? .ok : .serviceUnavailable, body: "flap", context: context)
        case ("echo", _):
            let echoed = "\(head.method) \(head.uri)\n" + head.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
            send(.badRequest, body: echoed, context: context)
        default:
            send(.notFound, body: "not found", context: context)
        }
    }

    /// Answers no earlier than `deadline`: event-loop timers may fire early, so it re-arms until
    /// the full delay has passed, making the delay a true lower bound for timing tests.
    private func respond(after deadline: NIODeadline, since received: NIODeadline, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            if NIODeadline.now() < deadline {
                handler.respond(after: deadline, since: received, context: context)
            } else {
                let held = Duration.nanoseconds((NIODeadline.now() - received).nanoseconds)
                handler.heldFor.withLockedValue { $0.append(held) }
                handler.send(.ok, body: "ok", context: context)
            }
        }
    }

    private func send(
        _ status: HTTPResponseStatus, body: String, headers: [(String, String)] = [], context: ChannelHandlerContext
    ) {
        writeResponse(status, body: body, headers: headers, context: context)
    }

    /// Sends headers, then one byte every 100 ms until the client hangs up (at most 300 bytes).
    private func drip(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok))), promise: nil)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let sent = NIOLoopBoundBox(0, eventLoop: context.eventLoop)
        context.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { task in
            let (handler, context) = loopBound.value
            sent.value += 1
            guard context.channel.isActive, sent.value <= 300 else {
                task.cancel()
                context.close(promise: nil)
                return
            }
            context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "x")))), promise: nil)
        }
    }
}
