import NIOCore

/// A misbehaving backend or proxy that answers every request with the request itself — its line
/// and every header — under a chosen status: what would hand an output's own credentials back if
/// the agent showed a backend's answer unscrubbed.
public final class EchoServer: Sendable {
    private let server: StandInServer
    public var port: Int { server.port }

    public init(status: Int = 500) throws {
        server = try StandInServer { head, body in
            let echoed = "\(head.method) \(head.uri)\n" + head.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
                + "\n\n" + String(buffer: body).prefix(2000)
            return (status, echoed, [])
        }
    }

    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    public func shutdown() { server.shutdown() }
}
