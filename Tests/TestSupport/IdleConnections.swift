import Glibc

/// Plain TCP connections to a loopback port that send nothing: the clients that must not be able
/// to starve a server. Closed by `close()`.
public final class IdleConnections: Sendable {
    public let descriptors: [Int32]

    /// Opens up to `count` connections; stops early when the server refuses.
    public init(count: Int, port: Int) {
        var opened: [Int32] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { break }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                Glibc.close(fd)
                continue
            }
            opened.append(fd)
        }
        descriptors = opened
    }

    /// How many of the connections the server has closed (a read returns end-of-file or an error).
    public var closedByPeer: Int {
        descriptors.filter { fd in
            var byte: UInt8 = 0
            let read = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
            return read == 0 || (read < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        }.count
    }

    public func close() {
        for fd in descriptors { Glibc.close(fd) }
    }
}
