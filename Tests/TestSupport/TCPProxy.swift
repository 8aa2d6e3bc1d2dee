import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A loopback TCP proxy in front of a real server, which a test can take down (the port then
/// refuses connections and open ones are cut) and bring back on the same port: a backend outage
/// without stopping the backend.
public final class TCPProxy: Sendable {
    public let port: Int
    private let upstreamPort: Int
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let state = NIOLockedValueBox<(listener: (any Channel)?, connections: [any Channel])>((nil, []))

    public init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        let listener = try Self.listen(port: 0, upstreamPort: upstreamPort, group: group, state: state)
        self.port = listener.localAddress?.port ?? 0
        state.withLockedValue { $0.listener = listener }
    }

    public var isUp: Bool { state.withLockedValue { $0.listener != nil } }

    /// Refuses new connections and cuts the open ones.
    public func down() {
        let (listener, connections) = state.withLockedValue { state in
            defer { state = (nil, []) }
            return (state.listener, state.connections)
        }
        try? listener?.close().wait()
        for connection in connections { try? connection.close().wait() }
    }

    public func up() throws {
        guard !isUp else { return }
        let listener = try Self.listen(port: port, upstreamPort: upstreamPort, group: group, state: state)
        state.withLockedValue { $0.listener = listener }
    }

    public func shutdown() {
        down()
        try? group.syncShutdownGracefully()
    }

    private static func listen(
        port: Int, upstreamPort: Int, group: MultiThreadedEventLoopGroup,
        state: NIOLockedValueBox<(listener: (any Channel)?, connections: [any Channel])>
    ) throws -> any Channel {
        try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.autoRead, value: false)
            .childChannelInitializer { inbound in
                state.withLockedValue { $0.connections.append(inbound) }
                // The client's bytes are read only once both directions are wired, so none are lost.
                return ClientBootstrap(group: inbound.eventLoop)
                    .connect(host: "127.0.0.1", port: upstreamPort)
                    .flatMap { outbound in
                        state.withLockedValue { $0.connections.append(outbound) }
                        return outbound.pipeline.addHandler(Relay(peer: inbound)).flatMap {
                            inbound.pipeline.addHandler(Relay(peer: outbound))
                        }
                    }
                    .flatMap { inbound.setOption(ChannelOptions.autoRead, value: true) }
            }
            .bind(host: "127.0.0.1", port: port).wait()
    }
}

/// Copies bytes to the peer channel and closes it when this side closes.
private final class Relay: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let peer: any Channel

    init(peer: any Channel) {
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
