import Foundation

/// A `dns://` probe: one question to one server over UDP (again over TCP when the answer comes
/// back truncated, or only over TCP with `transport=tcp`), timed and checked against
/// `valid_rcodes` and `validate_answer_rrs`.
///
/// Phases, in blackbox_exporter's DNS names: `connect` (the socket, and TCP's handshake) and
/// `request` (question sent → answer read), stored as `connect` and `processing`.
final class DNSProbe: SocketProbe {
    let endpoint: EndpointConfig
    private let query: DNSQuery
    private let checker: ResponseChecker
    /// The node's resolver configuration, read at each probe of `dns:///name` (it can change).
    private let resolvConf: @Sendable () -> String?

    private var clock: SocketProbeClock!
    private var server: SocketEndpoint?
    private var socket: ProbeSocket?
    private var state = State.idle
    private var id: UInt16 = 0
    private var questionBytes: [UInt8] = []
    private var connectTime = Duration.zero
    private var connectStart: MonotonicInstant?
    private var sentAt: MonotonicInstant?
    private var streamBuffer: [UInt8] = []
    /// The last probe's answer, for a probe that asked in order to use it (ICMP's name lookup).
    private(set) var lastAnswer: DNSMessage?

    private enum State { case idle, connecting, awaitingDatagram, awaitingStream }

    init(endpoint: EndpointConfig, query: DNSQuery, resolvConf: @escaping @Sendable () -> String? = DNSProbe.readResolvConf) {
        self.endpoint = endpoint
        self.query = query
        self.checker = ResponseChecker(endpoint.conditions)
        self.resolvConf = resolvConf
    }

    static let readResolvConf: @Sendable () -> String? = { try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8) }

    func start(startedAt: Timestamp, now: MonotonicInstant) -> SocketStep {
        clock = SocketProbeClock(startedAt: startedAt, now: now, timeout: endpoint.timeout)
        socket = nil
        connectTime = .zero
        sentAt = nil
        streamBuffer.removeAll()
        lastAnswer = nil
        guard let target = query.server ?? resolvConf().flatMap({ DNSResolver.system(resolvConf: $0)?.server }) else {
            return finish(now, failure: ProbeFailure(reason: .dns, message: "no DNS server: /etc/resolv.conf names no nameserver"))
        }
        guard let address = SocketEndpoint(ip: target.host, port: target.port) else {
            return finish(now, failure: ProbeFailure(reason: .dns, message: "the DNS server \(target) is not an IP address"))
        }
        server = address
        id = UInt16.random(in: 0...UInt16.max)
        do {
            questionBytes = try DNSMessage.query(id: id, name: query.name, type: query.type)
        } catch {
            return finish(now, failure: ProbeFailure(reason: .other, message: "\(error)"))
        }
        return query.transport == .tcp ? openStream(now) : openDatagram(now)
    }

    func advance(now: MonotonicInstant) -> SocketStep {
        guard now < clock.deadline else {
            let waiting = sentAt == nil ? "connecting to" : "waiting for an answer from"
            return finish(
                now, failure: ProbeFailure(reason: .timeout, message: "timed out after \(HumanUnits.format(endpoint.timeout)) \(waiting) \(server!)"))
        }
        guard let socket else { return finish(now, failure: ProbeFailure(reason: .other, message: "no socket")) }
        do throws(SocketFailure) {
            switch state {
            case .idle:
                return finish(now, failure: ProbeFailure(reason: .other, message: "the probe was not started"))
            case .connecting:
                if let failure = socket.pendingError() { throw failure }
                connected(now)
                return try sendOnStream(socket, now)
            case .awaitingDatagram:
                guard let datagram = try socket.receive(limit: 65_535) else { return wait(socket) }
                // A stray or late datagram (another id) is not the answer: keep waiting for it.
                guard let message = try? DNSMessage(response: datagram), message.id == id else { return wait(socket) }
                if message.truncated { return openStream(now) }
                return answered(message, now)
            case .awaitingStream:
                guard let bytes = try socket.receive(limit: 65_537) else { return wait(socket) }
                guard !bytes.isEmpty else {
                    return finish(now, failure: ProbeFailure(reason: .other, message: "\(server!) closed the TCP connection without an answer"))
                }
                streamBuffer += bytes
                guard streamBuffer.count >= 2 else { return wait(socket) }
                let length = Int(streamBuffer[0]) << 8 | Int(streamBuffer[1])
                guard streamBuffer.count >= 2 + length else { return wait(socket) }
                do {
                    let message = try DNSMessage(response: Array(streamBuffer[2..<(2 + length)]))
                    guard message.id == id else {
                        return finish(now, failure: ProbeFailure(reason: .other, message: "\(server!) answered another question (id \(message.id))"))
                    }
                    return answered(message, now)
                } catch {
                    return finish(now, failure: ProbeFailure(reason: .other, message: "\(error) (from \(server!))"))
                }
            }
        } catch {
            return finish(now, failure: error.probeFailure(talkingTo: server!))
        }
    }

    private func openDatagram(_ now: MonotonicInstant) -> SocketStep {
        do throws(SocketFailure) {
            let socket = try ProbeSocket(.udp, family: server!.family)
            self.socket = socket
            connectStart = now
            _ = try socket.connect(to: server!)
            connected(.now)
            guard try socket.send(questionBytes) == questionBytes.count else {
                throw SocketFailure(call: "send", code: EAGAIN)
            }
            sentAt = sentAt ?? .now
            state = .awaitingDatagram
            return wait(socket)
        } catch {
            return finish(now, failure: error.probeFailure(talkingTo: server!))
        }
    }

    private func openStream(_ now: MonotonicInstant) -> SocketStep {
        do throws(SocketFailure) {
            let socket = try ProbeSocket(.tcp, family: server!.family)
            self.socket = socket
            connectStart = now
            streamBuffer.removeAll()
            if try socket.connect(to: server!) {
                connected(.now)
                return try sendOnStream(socket, now)
            }
            state = .connecting
            return .wait(descriptor: socket.descriptor, writable: true, until: clock.deadline)
        } catch {
            return finish(now, failure: error.probeFailure(talkingTo: server!))
        }
    }

    /// A question is a few dozen bytes: a fresh connection's send buffer always takes it whole.
    private func sendOnStream(_ socket: ProbeSocket, _ now: MonotonicInstant) throws(SocketFailure) -> SocketStep {
        let framed = [UInt8(questionBytes.count >> 8), UInt8(questionBytes.count & 0xff)] + questionBytes
        guard try socket.send(framed) == framed.count else { throw SocketFailure(call: "send", code: EAGAIN) }
        sentAt = sentAt ?? .now
        state = .awaitingStream
        return wait(socket)
    }

    private func connected(_ now: MonotonicInstant) {
        if let connectStart { connectTime += now - connectStart }
        connectStart = nil
    }

    private func wait(_ socket: ProbeSocket) -> SocketStep {
        .wait(descriptor: socket.descriptor, writable: false, until: clock.deadline)
    }

    private func answered(_ message: DNSMessage, _ now: MonotonicInstant) -> SocketStep {
        lastAnswer = message
        let counts = message.sectionCounts
        var details = ProbeDetails()
        details.dns = ProbeDetails.DNS(
            responseCode: message.responseCode, answers: counts.answers, authority: counts.authority, additional: counts.additional)
        let check = endpoint.dns
        var failure: ProbeFailure?
        if !check.validResponseCodes.contains(message.responseCode) {
            failure = ProbeFailure(
                reason: .dnsResponseCode,
                message: "\(server!) answered \(message.responseCode) for \(query.name) \(query.type.name); valid_rcodes: "
                    + check.validResponseCodes.map(\.description).joined(separator: ", "))
        } else if let violation = check.answers.violation(message.answers.map(\.zoneLine)) {
            failure = ProbeFailure(reason: .dnsAnswer, message: violation)
        }
        return finish(now, failure: failure, details: details)
    }

    private func finish(_ now: MonotonicInstant, failure: ProbeFailure?, details: ProbeDetails = ProbeDetails()) -> SocketStep {
        state = .idle
        socket = nil
        let connect = connectTime
        let reachedConnect = sentAt != nil
        let request = sentAt.map { now - $0 }
        return .done(
            clock.result(
                endpoint, checker: checker, now: now,
                timings: { phases in
                    phases.connect = reachedConnect ? connect : nil
                    phases.processing = details.dns == nil ? nil : request
                }, remoteIP: server?.ip, failure: failure, details: details))
    }
}

extension SocketFailure {
    /// The same, naming the server: "connect to 127.0.0.1:53: Connection refused".
    func probeFailure(talkingTo server: SocketEndpoint) -> ProbeFailure {
        var failure = probeFailure
        if !failure.message.contains(server.description) { failure.message = "\(server): " + failure.message }
        if isRefused { failure.message += " (nothing answers on that port)" }
        return failure
    }
}
