/// A `tcp.query_response` dialogue as a pure state machine: it is fed what arrived and says
/// what to do next, so its rules are tested without a socket. `QueryResponseProbe` carries
/// out its actions on the connection.
///
/// Blackbox_exporter's rules: lines end at "\n" (a "\r" before it is dropped); an `expect`
/// step reads lines until one matches, and fails when the connection closes first; `send`
/// goes out with "\n" appended once the step's `expect` (if any) matched.
struct QueryResponse {
    /// One step, its pattern compiled once per endpoint.
    struct Step {
        let pattern: String?
        let expect: Regex<AnyRegexOutput>?
        let send: [UInt8]?

        init(_ step: TCPOptions.QueryStep) {
            pattern = step.expect
            // Checked at config load; a pattern that fails here could never match anyway.
            expect = step.expect.flatMap { try? Regex($0) }
            send = step.send.map { Array(($0 + "\n").utf8) }
        }
    }

    enum Action: Equatable {
        case send([UInt8])
        /// Wait for more bytes (or the peer's close).
        case receive
        case done
        case failed(String)
    }

    private let steps: [Step]
    /// Beyond this many received bytes without a match the dialogue fails: a peer streaming
    /// without end must not grow the buffer.
    private let limit: Int
    private var index = 0
    private var matched = false
    private var sent = false
    private var pending: [UInt8] = []
    /// Bytes the peer sent so far: the result's `bytes`.
    private(set) var received = 0
    private var closed = false
    private var lastLine: String?

    init(_ steps: [Step], limit: Int) {
        self.steps = steps
        self.limit = limit
    }

    mutating func receive(_ bytes: some Collection<UInt8>) {
        pending += bytes
        received += bytes.count
    }

    mutating func peerClosed() { closed = true }

    /// The step's `send` went out in full.
    mutating func didSend() { sent = true }

    mutating func next() -> Action {
        while index < steps.count {
            let step = steps[index]
            if let expect = step.expect, !matched {
                matched = consumeLines(until: expect)
                if !matched {
                    if closed { return .failed(failure(step, "the connection closed")) }
                    if received > limit { return .failed(failure(step, "\(received) bytes arrived")) }
                    return .receive
                }
            }
            if let send = step.send, !sent { return .send(send) }
            index += 1
            matched = false
            sent = false
        }
        return .done
    }

    /// What the timeout cut short, said as the result's message.
    var timeoutMessage: String {
        guard index < steps.count else { return "query_response: the timeout passed" }
        let step = steps[index]
        return step.expect != nil && !matched
            ? failure(step, "the timeout passed") : "query_response step \(index + 1): the timeout passed while sending"
    }

    /// Takes whole lines off `pending` until one matches; after the peer's close, a last line
    /// without its newline counts too.
    private mutating func consumeLines(until expect: Regex<AnyRegexOutput>) -> Bool {
        while let end = pending.firstIndex(of: UInt8(ascii: "\n")) ?? (closed && !pending.isEmpty ? pending.endIndex : nil) {
            var line = pending[..<end]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            let text = String(decoding: line, as: UTF8.self)
            pending.removeSubrange(..<min(end + 1, pending.endIndex))
            lastLine = text
            if text.contains(expect) { return true }
        }
        return false
    }

    private func failure(_ step: Step, _ cause: String) -> String {
        let seen = lastLine.map { "; the last line was \"\(String($0.prefix(120)))\"" } ?? "; no line arrived"
        return "query_response step \(index + 1): \(cause) before a line matched expect /\(step.pattern ?? "")/\(seen)"
    }
}
