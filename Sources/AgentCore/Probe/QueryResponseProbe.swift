import CCurl

/// Carries out a `tcp.query_response` dialogue on the connection a connect-only libcurl
/// transfer left open (TLS included), as a socket probe of the same event loop: the loop polls
/// the connection's socket and calls `advance`; `QueryResponse` decides.
///
/// The transfer's handle stays in the multi handle until the dialogue ends, since removing it
/// closes the connection; the loop removes it then.
final class QueryResponseProbe: SocketProbe {
    let transfer: ProbeTransfer
    private let connected: ProbeResult
    private var dialogue: QueryResponse
    private let socket: Int32
    private let start: MonotonicInstant
    private let deadline: MonotonicInstant
    private var outgoing: ArraySlice<UInt8> = []
    private var incoming: [UInt8] = []

    var endpoint: EndpointConfig { transfer.endpoint }

    /// nil when the connection cannot be found (libcurl closed it): the caller reports that.
    init?(transfer: ProbeTransfer, connected: ProbeResult, now: MonotonicInstant) {
        guard let socket = transfer.easy.connectedSocket else { return nil }
        self.transfer = transfer
        self.connected = connected
        self.dialogue = QueryResponse(transfer.queryResponse, limit: transfer.endpoint.maxBodyBytes)
        self.socket = socket
        self.start = now
        // What is left of the probe's timeout after the connect.
        self.deadline = now + max(.zero, transfer.endpoint.timeout - connected.timings.total)
    }

    func start(startedAt: Timestamp, now: MonotonicInstant) -> SocketStep {
        advance(now: now)
    }

    func advance(now: MonotonicInstant) -> SocketStep {
        while true {
            if !outgoing.isEmpty {
                switch transfer.easy.send(outgoing) {
                case .transferred(let count):
                    outgoing = outgoing.dropFirst(count)
                    if outgoing.isEmpty { dialogue.didSend() }
                    continue
                case .wouldBlock:
                    return wait(writable: true, now: now)
                case .failed(let code):
                    return finish(now, failure: Self.connectionFailure(code))
                }
            }
            switch dialogue.next() {
            case .send(let bytes):
                outgoing = bytes[...]
            case .receive:
                switch transfer.easy.receive(into: &incoming, limit: 4096) {
                case .transferred(0):
                    dialogue.peerClosed()
                case .transferred:
                    dialogue.receive(incoming)
                    incoming.removeAll(keepingCapacity: true)
                case .wouldBlock:
                    return wait(writable: false, now: now)
                case .failed(let code):
                    return finish(now, failure: Self.connectionFailure(code))
                }
            case .done:
                return finish(now, failure: nil)
            case .failed(let message):
                return finish(now, failure: ProbeFailure(reason: .queryResponse, message: message))
            }
        }
    }

    private func wait(writable: Bool, now: MonotonicInstant) -> SocketStep {
        guard now < deadline else {
            return finish(now, failure: ProbeFailure(reason: .timeout, message: dialogue.timeoutMessage))
        }
        return .wait(descriptor: socket, writable: writable, until: deadline)
    }

    private func finish(_ now: MonotonicInstant, failure: ProbeFailure?) -> SocketStep {
        .done(transfer.finishQueryResponse(connected, took: now - start, received: dialogue.received, failure: failure))
    }

    private static func connectionFailure(_ code: CURLcode) -> ProbeFailure {
        ProbeFailure(
            reason: .connect, message: "the connection failed during query_response: \(String(cString: curl_easy_strerror(code)))")
    }
}
