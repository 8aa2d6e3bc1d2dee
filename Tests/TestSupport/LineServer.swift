import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// A line-protocol server on 127.0.0.1 (plain or TLS), as SMTP, IRC or a Redis `PING` answer:
/// it greets each connection with `banner`, answers each line it receives as `reply` says, and
/// counts the connections it holds open, so tests see that a probe's connection is closed once
/// its dialogue ends.
public final class LineServer: Sendable {
    public enum Answer: Sendable {
        case say([String])
        /// Writes the lines, then closes the connection (SMTP's 221 after QUIT).
        case sayAndClose([String])
    }

    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let state: NIOLockedValueBox<State>

    struct State {
        var open = 0
        var accepted = 0
        var lines: [String] = []
    }

    public init(
        banner: [String], tls: TestCertificates? = nil, reply: @escaping @Sendable (String) -> Answer = { _ in .say([]) }
    ) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = NIOLockedValueBox(State())
        let sslContext = try tls.map { try $0.serverContext() }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.addHandler(LineHandler(banner: banner, state: state, reply: reply))
                }
            }
        do {
            channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        self.group = group
        self.state = state
        port = channel.localAddress?.port ?? 0
    }

    /// Connections open now.
    public var openConnections: Int { state.withLockedValue { $0.open } }
    public var acceptedConnections: Int { state.withLockedValue { $0.accepted } }
    /// Every line received, in order, without its line end.
    public var receivedLines: [String] { state.withLockedValue { $0.lines } }

    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    private final class LineHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let banner: [String]
        let state: NIOLockedValueBox<State>
        let reply: @Sendable (String) -> Answer
        var pending: [UInt8] = []

        init(banner: [String], state: NIOLockedValueBox<State>, reply: @escaping @Sendable (String) -> Answer) {
            self.banner = banner
            self.state = state
            self.reply = reply
        }

        func channelActive(context: ChannelHandlerContext) {
            state.withLockedValue {
                $0.open += 1
                $0.accepted += 1
            }
            write(banner, context: context)
        }

        func channelInactive(context: ChannelHandlerContext) {
            state.withLockedValue { $0.open -= 1 }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            pending += buffer.readBytes(length: buffer.readableBytes) ?? []
            while let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                var line = pending[..<end]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                let text = String(decoding: line, as: UTF8.self)
                pending.removeSubrange(...end)
                state.withLockedValue { $0.lines.append(text) }
                switch reply(text) {
                case .say(let lines):
                    write(lines, context: context)
                case .sayAndClose(let lines):
                    write(lines, context: context)
                    context.close(promise: nil)
                    return
                }
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }

        private func write(_ lines: [String], context: ChannelHandlerContext) {
            guard !lines.isEmpty else { return }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: lines.map { $0 + "\r\n" }.joined())), promise: nil)
        }
    }
}
