#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A socket address from an IP literal and a port, for the probes the agent runs on its own
/// sockets (DNS, ICMP). No name lookup happens here: callers resolve first.
struct SocketEndpoint: Equatable, CustomStringConvertible {
    let ip: String
    let port: Int
    let isIPv6: Bool
    fileprivate let storage: sockaddr_storage
    fileprivate let length: socklen_t

    init?(ip: String, port: Int) {
        var storage = sockaddr_storage()
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, ip, &v4) == 1 {
            withUnsafeMutableBytes(of: &storage) { raw in
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                address.pointee.sin_family = sa_family_t(AF_INET)
                address.pointee.sin_port = in_port_t(UInt16(port).bigEndian)
                address.pointee.sin_addr = v4
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            isIPv6 = false
        } else if inet_pton(AF_INET6, ip, &v6) == 1 {
            withUnsafeMutableBytes(of: &storage) { raw in
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                address.pointee.sin6_family = sa_family_t(AF_INET6)
                address.pointee.sin6_port = in_port_t(UInt16(port).bigEndian)
                address.pointee.sin6_addr = v6
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            isIPv6 = true
        } else {
            return nil
        }
        self.ip = ip
        self.port = port
        self.storage = storage
    }

    var family: Int32 { isIPv6 ? AF_INET6 : AF_INET }

    var description: String { IPAddress.join(host: ip, port: port) }

    static func == (lhs: SocketEndpoint, rhs: SocketEndpoint) -> Bool {
        lhs.ip == rhs.ip && lhs.port == rhs.port
    }
}

/// Why a probe's own socket failed: the node (no descriptor left, not allowed) or the network.
struct SocketFailure: Error, Equatable, CustomStringConvertible {
    let call: String
    let code: Int32

    /// Out of descriptors (or above the probes' ceiling), or not permitted: the node's shortage,
    /// recorded as `resources`, never as the target's failure.
    var isLocal: Bool { code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM || code == EPERM || code == EACCES }
    var isRefused: Bool { code == ECONNREFUSED }
    var isUnreachable: Bool { code == ENETUNREACH || code == EHOSTUNREACH }

    var description: String { "\(call): \(SystemError.describe(code))" }
}

/// One non-blocking socket of the probe thread, closed when released. The only place outside
/// libcurl where the agent's probes make system calls on sockets; everything above it sees
/// byte arrays and typed failures.
///
/// Confined to the probe thread (checked), like the libcurl handles beside it.
final class ProbeSocket {
    let descriptor: Int32
    private let confinement = ThreadConfinement()

    enum Kind {
        case udp, tcp
        /// An ICMP echo socket: the kernel's unprivileged ping socket, or a raw one.
        case ping(raw: Bool)
    }

    /// Opens a socket below the probes' descriptor ceiling (`SystemError.probeSocketCeiling`).
    init(_ kind: Kind, family: Int32) throws(SocketFailure) {
        let icmp = family == AF_INET6 ? Int32(IPPROTO_ICMPV6) : Int32(IPPROTO_ICMP)
        let (type, proto): (Int32, Int32) =
            switch kind {
            case .udp: (Int32(SOCK_DGRAM.rawValue), Int32(IPPROTO_UDP))
            case .tcp: (Int32(SOCK_STREAM.rawValue), Int32(IPPROTO_TCP))
            case .ping(let raw): (Int32(raw ? SOCK_RAW.rawValue : SOCK_DGRAM.rawValue), icmp)
            }
        let descriptor = socket(family, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), proto)
        guard descriptor >= 0 else { throw SocketFailure(call: "socket", code: errno) }
        guard descriptor < SystemError.probeSocketCeiling else {
            close(descriptor)
            throw SocketFailure(call: "socket", code: EMFILE)
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Starts connecting; true when already connected (UDP, ICMP), false while a TCP
    /// handshake is under way (wait for writable, then `pendingError`).
    func connect(to endpoint: SocketEndpoint) throws(SocketFailure) -> Bool {
        confinement.check("a probe socket")
        var storage = endpoint.storage
        let result = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, endpoint.length) }
        }
        if result == 0 { return true }
        if errno == EINPROGRESS { return false }
        throw SocketFailure(call: "connect to \(endpoint)", code: errno)
    }

    /// The outcome of a non-blocking connect, once the socket is writable.
    func pendingError() -> SocketFailure? {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else {
            return SocketFailure(call: "getsockopt", code: errno)
        }
        return code == 0 ? nil : SocketFailure(call: "connect", code: code)
    }

    /// Sends what the socket takes now; the count sent (0 when it would block).
    func send(_ bytes: [UInt8]) throws(SocketFailure) -> Int {
        confinement.check("a probe socket")
        let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if sent >= 0 { return sent }
        if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
        throw SocketFailure(call: "send", code: errno)
    }

    /// One datagram or what a stream has now, up to `limit` bytes; nil when nothing is there.
    /// An empty array is a stream's end.
    func receive(limit: Int) throws(SocketFailure) -> [UInt8]? {
        confinement.check("a probe socket")
        var buffer = [UInt8](repeating: 0, count: limit)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count >= 0 { return Array(buffer.prefix(count)) }
        if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
        throw SocketFailure(call: "recv", code: errno)
    }
}
