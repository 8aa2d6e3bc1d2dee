import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A Slack incoming webhook on loopback that answers as Slack does (wire-rules.md): 200 `ok`;
/// 400 `invalid_payload` for a body that is not JSON, `no_text` without `text` or `blocks`;
/// 429 with `Retry-After: 1` when messages come faster than one a second; scripted statuses
/// (404 `no_service`, 410 `channel_is_archived`, 500 `rollup_error`…) for tests.
public final class SlackStandIn: Sendable {
    public struct Message: Sendable {
        public let text: String
        public let blocks: String
        public let received: Date
    }

    struct State {
        var messages: [Message] = []
        var statuses: [Int] = []
        var scripted: [(Int, String)] = []
        var lastAccepted: Date?
    }

    let state = NIOLockedValueBox(State())
    private let server: StandInServer

    public init() throws {
        let state = state
        server = try StandInServer { head, body in
            state.withLockedValue { state in
                let answer = head.method == .POST
                    ? SlackStandIn.answer(body: Data(body.readableBytesView), path: head.uri, state: &state, now: Date())
                    : (405, "method_not_allowed", nil)
                state.statuses.append(answer.0)
                return (answer.0, answer.1, [("Content-Type", "text/plain")] + (answer.2.map { [("Retry-After", "\($0)")] } ?? []))
            }
        }
    }

    public var port: Int { server.port }

    /// A webhook URL whose path, like a real one, is the secret.
    public var webhookURL: String { "http://127.0.0.1:\(port)/services/T000/B000/s3cr3tWebhookToken" }

    public func fail(next count: Int, status: Int, body: String) {
        state.withLockedValue { $0.scripted += Array(repeating: (status, body), count: count) }
    }

    public var messages: [Message] { state.withLockedValue { $0.messages } }
    public var statuses: [Int] { state.withLockedValue { $0.statuses } }

    public func shutdown() {
        server.shutdown()
    }

    static func answer(body: Data, path: String, state: inout State, now: Date) -> (Int, String, Int?) {
        guard path.hasPrefix("/services/") else { return (404, "no_service", nil) }
        if !state.scripted.isEmpty {
            let (status, text) = state.scripted.removeFirst()
            return (status, text, status == 429 ? 1 : nil)
        }
        guard let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return (400, "invalid_payload", nil) }
        let text = json["text"] as? String ?? ""
        let blocks = json["blocks"] as? [Any] ?? []
        guard !text.isEmpty || !blocks.isEmpty else { return (400, "no_text", nil) }
        if let last = state.lastAccepted, now.timeIntervalSince(last) < 1 { return (429, "rate_limited", 1) }
        state.lastAccepted = now
        let blocksText = String(decoding: (try? JSONSerialization.data(withJSONObject: blocks)) ?? Data(), as: UTF8.self)
        state.messages.append(Message(text: text, blocks: blocksText, received: now))
        return (200, "ok", nil)
    }
}
