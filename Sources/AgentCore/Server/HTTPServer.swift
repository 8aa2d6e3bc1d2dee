import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The agent's own HTTP/1.1 server, built so no client can starve the prober or lock `/health`
/// out: it holds at most `maxConnections` connections (a new one makes it close the one idle the
/// longest), closes a connection that sends nothing for `idleTimeout` or does not finish a request
/// head within it, and reads at most 64 KiB of request body.
struct HTTPServer: Service, CustomStringConvertible {
    struct Request: Sendable {
        var method: HTTPMethod
        /// The path without the query string.
        var path: String
        var accept: String?
    }

    struct Response: Sendable {
        var status: HTTPResponseStatus
        var contentType = "text/plain; charset=utf-8"
        var body: [UInt8]

        init(status: HTTPResponseStatus, contentType: String = "text/plain; charset=utf-8", body: String) {
            self.status = status
            self.contentType = contentType
            self.body = Array(body.utf8)
        }

        init(status: HTTPResponseStatus, contentType: String, bytes: [UInt8]) {
            self.status = status
            self.contentType = contentType
            self.body = bytes
        }
    }

    typealias Handler = @Sendable (Request) async -> Response

    static let maxRequestBody = 64 * 1024

    let config: ServerConfig
    /// The connection cap in force: `server.max_connections`, and never more than an eighth of
    /// the open-file limit, so the prober keeps the rest of the descriptors.
    let maxConnections: Int
    let handler: Handler
    let onBound: @Sendable (Int) -> Void
    let logger: Logger

    var description: String { "HTTPServer(\(config.address):\(config.port))" }

    init(config: ServerConfig, handler: @escaping Handler, onBound: @escaping @Sendable (Int) -> Void, logger: Logger) {
        self.config = config
        self.maxConnections = max(4, min(config.maxConnections, SystemError.openFileLimit / 8))
        self.handler = handler
        self.onBound = onBound
        self.logger = logger
    }

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let limit = maxConnections
        let registry = try await loop.submit { NIOLoopBound(ConnectionRegistry(limit: limit), eventLoop: loop) }.get()
        let (handler, timeout) = (handler, TimeAmount.nanoseconds(config.idleTimeout.inNanoseconds))
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 256)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        let tracker = ConnectionTracker(registry: registry.value, timeout: timeout)
                        try child.pipeline.syncOperations.addHandler(tracker)
                        try child.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try child.pipeline.syncOperations.addHandler(RequestHandler(handler: handler, tracker: tracker))
                    }
                }
                .bind(host: config.address, port: config.port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw AgentError(
                message: "the HTTP server cannot listen on \(config.address):\(config.port): \(error); "
                    + "set server.port to a free port, or server.enabled: false")
        }
        onBound(channel.localAddress?.port ?? config.port)
        try? await gracefulShutdown()
        try? await channel.close()
        try? await loop.submit { registry.value.closeAll() }.get()
        try? await group.shutdownGracefully()
    }
}

/// The open connections, on the server's one event loop. At the cap, a new connection closes the
/// one that has been idle longest (not in the middle of a request); if every one is busy, the new
/// one is turned away.
private final class ConnectionRegistry {
    let limit: Int
    private var open: [ObjectIdentifier: ConnectionTracker] = [:]

    init(limit: Int) {
        self.limit = limit
    }

    /// False when the new connection must be closed.
    func admit(_ tracker: ConnectionTracker) -> Bool {
        if open.count >= limit {
            guard let victim = open.values.filter({ !$0.busy }).min(by: { $0.lastActivity < $1.lastActivity }) else { return false }
            open.removeValue(forKey: ObjectIdentifier(victim))
            victim.close()
        }
        open[ObjectIdentifier(tracker)] = tracker
        return true
    }

    func remove(_ tracker: ConnectionTracker) {
        open.removeValue(forKey: ObjectIdentifier(tracker))
    }

    func closeAll() {
        for tracker in open.values { tracker.close() }
        open.removeAll()
    }
}

/// Watches one connection's raw bytes: registers it, notes activity, and closes it when it stays
/// silent, or takes too long to send a request head, for the idle timeout.
private final class ConnectionTracker: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let registry: ConnectionRegistry
    private let timeout: TimeAmount
    private var context: ChannelHandlerContext?
    private var deadline: Scheduled<Void>?
    private(set) var lastActivity = NIODeadline.now()
    /// Between a request's head and its response.
    private(set) var busy = false
    /// Bytes of a request have arrived but not yet its whole head.
    private var awaitingHead = false

    init(registry: ConnectionRegistry, timeout: TimeAmount) {
        self.registry = registry
        self.timeout = timeout
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        guard registry.admit(self) else {
            context.close(promise: nil)
            return
        }
        armDeadline()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        registry.remove(self)
        self.context = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        if !busy && !awaitingHead {
            // The head must be complete within the timeout from its first byte: a client sending
            // a byte at a time cannot hold the connection open.
            awaitingHead = true
            armDeadline()
        } else if busy {
            armDeadline()
        }
        context.fireChannelRead(data)
    }

    func headArrived() {
        awaitingHead = false
        busy = true
        deadline?.cancel()
    }

    func responseSent() {
        busy = false
        lastActivity = .now()
        armDeadline()
    }

    func close() {
        context?.close(promise: nil)
    }

    private func armDeadline() {
        deadline?.cancel()
        guard let context else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let tracker = loopBound.value
            if !tracker.busy { tracker.close() }
        }
    }
}

/// Collects one request, runs the handler, writes the answer; keep-alive as the client asks.
private final class RequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let handler: HTTPServer.Handler
    private let tracker: ConnectionTracker
    private var head: HTTPRequestHead?
    private var bodyBytes = 0
    private var tooLarge = false

    init(handler: @escaping HTTPServer.Handler, tracker: ConnectionTracker) {
        self.handler = handler
        self.tracker = tracker
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            bodyBytes = 0
            tooLarge = false
            tracker.headArrived()
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
            if bodyBytes > HTTPServer.maxRequestBody { tooLarge = true }
        case .end:
            guard let head else { return }
            self.head = nil
            let keepAlive = head.isKeepAlive && !tooLarge
            if tooLarge {
                write(HTTPServer.Response(status: .payloadTooLarge, body: "request body over 64 KiB\n"), keepAlive: false, context: context)
                return
            }
            let path = String(head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            let request = HTTPServer.Request(method: head.method, path: path, accept: head.headers.first(name: "accept"))
            let promise = context.eventLoop.makePromise(of: HTTPServer.Response.self)
            let handler = handler
            promise.completeWithTask { await handler(request) }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { response in
                let (handler, context) = bound.value
                handler.write(response, keepAlive: keepAlive, context: context)
            }
        }
    }

    private func write(_ response: HTTPServer.Response, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        headers.add(name: "Server", value: "latency-agent")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        tracker.responseSent()
        if !keepAlive {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }
}
