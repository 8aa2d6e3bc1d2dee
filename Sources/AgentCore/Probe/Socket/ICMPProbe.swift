import Foundation

/// An `icmp://host` probe: `packets` echo requests, their round trips and losses.
///
/// It uses the kernel's unprivileged ping socket where `net.ipv4.ping_group_range` admits the
/// agent's group, and a raw ICMP socket otherwise, which needs root or `CAP_NET_RAW` (the
/// DaemonSet grants that capability). A name is looked up in `/etc/hosts`, then with the
/// node's resolver (a DNS probe run as this probe's `resolve` phase).
///
/// Phases, in blackbox_exporter's ICMP names: `resolve`, `setup` (the socket) and `rtt` (the
/// mean round trip), stored as `resolve`, `connect` and `processing`; the total is their sum,
/// not the time spent waiting between packets.
final class ICMPProbe: SocketProbe {
    let endpoint: EndpointConfig
    private let target: ICMPTarget
    private let checker: ResponseChecker
    private let hostsFile: @Sendable () -> String?
    /// Learnt once: ping sockets are refused here, so raw sockets are used.
    private var useRaw = false

    private var clock: SocketProbeClock!
    private var lookup: DNSProbe?
    private var resolveTime: Duration?
    private var setupTime: Duration?
    private var address: SocketEndpoint?
    private var socket: ProbeSocket?
    private var identifier: UInt16 = 0
    private var sendTimes: [MonotonicInstant] = []
    private var roundTrips: [UInt16: Duration] = [:]
    private var hopLimit: Int?

    init(endpoint: EndpointConfig, target: ICMPTarget, hostsFile: @escaping @Sendable () -> String? = ICMPProbe.readHosts) {
        self.endpoint = endpoint
        self.target = target
        self.checker = ResponseChecker(endpoint.conditions)
        self.hostsFile = hostsFile
    }

    static let readHosts: @Sendable () -> String? = { try? String(contentsOfFile: "/etc/hosts", encoding: .utf8) }

    func start(startedAt: Timestamp, now: MonotonicInstant) -> SocketStep {
        clock = SocketProbeClock(startedAt: startedAt, now: now, timeout: endpoint.timeout)
        lookup = nil
        resolveTime = nil
        setupTime = nil
        address = nil
        socket = nil
        sendTimes = []
        roundTrips = [:]
        hopLimit = nil
        if IPAddress.isLiteral(target.host) { return addressKnown(target.host, now) }
        if let found = Self.hostsEntry(target.host, in: hostsFile() ?? "", family: endpoint.ipFamily) {
            resolveTime = .now - now
            return addressKnown(found, .now)
        }
        var lookupEndpoint = endpoint
        lookupEndpoint.conditions = ResponseConditions()
        let type: DNSRecordType = endpoint.ipFamily == .ipv6 ? .aaaa : .a
        let lookup = DNSProbe(endpoint: lookupEndpoint, query: DNSQuery(server: nil, name: target.host, type: type))
        self.lookup = lookup
        return following(lookup.start(startedAt: startedAt, now: now), now)
    }

    func advance(now: MonotonicInstant) -> SocketStep {
        if let lookup, address == nil { return following(lookup.advance(now: now), now) }
        guard let socket, let address else { return finish(now, failure: ProbeFailure(reason: .other, message: "no socket")) }
        do throws(SocketFailure) {
            while let packet = try socket.receive(limit: 1500) {
                take(packet, at: now, from: address)
            }
        } catch {
            return finish(now, failure: error.probeFailure(talkingTo: address))
        }
        return next(now)
    }

    /// Goes on with the name lookup; once it answered, pings the first address.
    private func following(_ step: SocketStep, _ now: MonotonicInstant) -> SocketStep {
        guard case .done(let result) = step else { return step }
        resolveTime = result.timings.total
        if let failure = result.failure {
            return finish(now, failure: ProbeFailure(reason: .dns, message: "cannot resolve \(target.host): \(failure.message)"))
        }
        let addresses = (lookup?.lastAnswer?.answers ?? []).compactMap { record -> String? in
            if case .address(let text) = record.data { return text }
            return nil
        }
        guard let first = addresses.first else {
            return finish(now, failure: ProbeFailure(reason: .dns, message: "\(target.host) has no address records"))
        }
        return addressKnown(first, .now)
    }

    private func addressKnown(_ ip: String, _ now: MonotonicInstant) -> SocketStep {
        guard let endpoint = SocketEndpoint(ip: ip, port: 0) else {
            return finish(now, failure: ProbeFailure(reason: .dns, message: "\(ip) is not an IP address"))
        }
        address = endpoint
        let setupStart = MonotonicInstant.now
        do throws(SocketFailure) {
            let socket = try openSocket(family: endpoint.family)
            _ = try socket.connect(to: endpoint)
            self.socket = socket
        } catch {
            var failure = error.probeFailure(talkingTo: endpoint)
            if error.code == EPERM || error.code == EACCES {
                failure.message += "; ICMP needs ping sockets (net.ipv4.ping_group_range) or CAP_NET_RAW"
            }
            return finish(now, failure: failure)
        }
        setupTime = .now - setupStart
        identifier = UInt16.random(in: 1...UInt16.max)
        return next(.now)
    }

    /// A ping socket first; a raw one when the kernel does not let this group ping.
    private func openSocket(family: Int32) throws(SocketFailure) -> ProbeSocket {
        if !useRaw {
            do throws(SocketFailure) {
                return try ProbeSocket(.ping(raw: false), family: family)
            } catch where error.code == EACCES || error.code == EPERM || error.code == EPROTONOSUPPORT {
                useRaw = true
            }
        }
        return try ProbeSocket(.ping(raw: true), family: family)
    }

    /// Sends what is due, and finishes when every reply is in or the time is up.
    private func next(_ now: MonotonicInstant) -> SocketStep {
        let options = endpoint.icmp
        guard let socket, let address else { return finish(now, failure: ProbeFailure(reason: .other, message: "no socket")) }
        if roundTrips.count == options.packets { return finish(now, failure: nil) }
        if now >= clock.deadline { return finish(now, failure: lossFailure()) }
        let firstSend = sendTimes.first ?? now
        if sendTimes.count < options.packets, now >= firstSend + options.packetInterval * sendTimes.count {
            let sequence = UInt16(sendTimes.count + 1)
            do throws(SocketFailure) {
                _ = try socket.send(ICMPEcho.request(identifier: identifier, sequence: sequence, ipv6: address.isIPv6))
            } catch {
                return finish(now, failure: error.probeFailure(talkingTo: address))
            }
            sendTimes.append(.now)
        }
        let nextSend =
            sendTimes.count < options.packets ? (sendTimes.first ?? now) + options.packetInterval * sendTimes.count : clock.deadline
        return .wait(descriptor: socket.descriptor, writable: false, until: min(nextSend, clock.deadline))
    }

    private func take(_ packet: [UInt8], at now: MonotonicInstant, from address: SocketEndpoint) {
        guard let reply = ICMPEcho.reply(in: packet, ipv6: address.isIPv6, raw: useRaw),
            !useRaw || reply.identifier == identifier,
            reply.sequence >= 1, Int(reply.sequence) <= sendTimes.count, roundTrips[reply.sequence] == nil
        else { return }
        roundTrips[reply.sequence] = now - sendTimes[Int(reply.sequence) - 1]
        if let ttl = reply.hopLimit { hopLimit = ttl }
    }

    private func lossFailure() -> ProbeFailure? {
        let sent = sendTimes.count
        let received = roundTrips.count
        if received == 0 {
            return ProbeFailure(
                reason: .timeout,
                message: "no echo reply from \(address?.ip ?? target.host) within \(HumanUnits.format(endpoint.timeout)) (\(sent) sent)")
        }
        let loss = Double(sent - received) * 100 / Double(max(1, sent))
        guard loss > endpoint.icmp.maxLossPercent else { return nil }
        return ProbeFailure(
            reason: .packetLoss,
            message: "\(sent - received) of \(sent) echo requests to \(address!.ip) unanswered (\(Self.percent(loss)) lost, max_loss \(Self.percent(endpoint.icmp.maxLossPercent)))")
    }

    private static func percent(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))%" : String(format: "%.1f%%", value)
    }

    private func finish(_ now: MonotonicInstant, failure: ProbeFailure?) -> SocketStep {
        socket = nil
        let trips = roundTrips.values
        let meanTrip: Duration? = trips.isEmpty ? nil : trips.reduce(.zero, +) / trips.count
        let details = ProbeDetails(
            icmp: sendTimes.isEmpty ? nil : ProbeDetails.ICMP(sent: sendTimes.count, received: roundTrips.count, replyHopLimit: hopLimit))
        let total = (resolveTime ?? .zero) + (setupTime ?? .zero) + (meanTrip ?? (sendTimes.isEmpty ? .zero : now - sendTimes[0]))
        let (resolve, setup) = (resolveTime, setupTime)
        return .done(
            clock.result(
                endpoint, checker: checker, now: now,
                timings: { phases in
                    phases.resolve = resolve
                    phases.connect = setup
                    phases.processing = meanTrip
                }, remoteIP: address?.ip, failure: failure, details: details, total: total))
    }

    /// The address of `name` in a hosts file, of the family asked for (IPv4 first for `any`).
    static func hostsEntry(_ name: String, in hosts: String, family: IPFamily) -> String? {
        var found: [String] = []
        for line in hosts.split(separator: "\n") {
            let words = line.prefix { $0 != "#" }.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard words.count >= 2, words.dropFirst().contains(where: { $0.lowercased() == name.lowercased() }) else { continue }
            found.append(words[0])
        }
        let v4 = found.filter { IPAddress.isLiteral($0) && !IPAddress.isIPv6($0) }
        let v6 = found.filter(IPAddress.isIPv6)
        switch family {
        case .ipv4: return v4.first
        case .ipv6: return v6.first
        case .any: return v4.first ?? v6.first
        }
    }
}

/// ICMP echo messages (RFC 792, RFC 4443), as bytes: pure, tested without a socket.
enum ICMPEcho {
    /// An echo request with an 8-byte payload. The IPv4 checksum is computed here; the kernel
    /// fills ICMPv6's (it covers a pseudo-header only it knows) and a ping socket's identifier.
    static func request(identifier: UInt16, sequence: UInt16, ipv6: Bool) -> [UInt8] {
        var bytes: [UInt8] = [
            ipv6 ? 128 : 8, 0, 0, 0, UInt8(identifier >> 8), UInt8(identifier & 0xff), UInt8(sequence >> 8), UInt8(sequence & 0xff),
        ]
        bytes += Array("latency!".utf8)
        if !ipv6 {
            let sum = checksum(bytes)
            bytes[2] = UInt8(sum >> 8)
            bytes[3] = UInt8(sum & 0xff)
        }
        return bytes
    }

    /// The echo reply in `packet`, or nil for anything else (a raw socket also sees the
    /// requests themselves on loopback, and every other ICMP message). A raw IPv4 socket
    /// delivers the IP header first, whose TTL is the reply's hop limit.
    static func reply(in packet: [UInt8], ipv6: Bool, raw: Bool) -> (identifier: UInt16, sequence: UInt16, hopLimit: Int?)? {
        var offset = 0
        var hopLimit: Int?
        if raw && !ipv6 {
            guard let first = packet.first, first >> 4 == 4 else { return nil }
            offset = Int(first & 0x0f) * 4
            guard packet.count > 8 else { return nil }
            hopLimit = Int(packet[8])
        }
        guard packet.count >= offset + 8, packet[offset] == (ipv6 ? 129 : 0), packet[offset + 1] == 0 else { return nil }
        let identifier = UInt16(packet[offset + 4]) << 8 | UInt16(packet[offset + 5])
        let sequence = UInt16(packet[offset + 6]) << 8 | UInt16(packet[offset + 7])
        return (identifier, sequence, hopLimit)
    }

    /// The Internet checksum (RFC 1071).
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }
}
