import CTestZlib
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A Loki push endpoint on loopback that answers as Loki does (wire-rules.md, from Loki 3.x's
/// validator): 204 on success; 400 for JSON it cannot parse, numeric timestamps, bad or too many
/// labels, lines over 256 KiB, entries older than 7 days, over 10 minutes in the future or over an
/// hour behind their stream's newest entry (the valid streams of such a request are still
/// written); 422 for no streams; 413 for an oversized body; 401 without `X-Scope-OrgID` when
/// multi-tenant; 429 over its byte rate. An entry equal (timestamp and line) to one its stream
/// already holds is dropped silently, as Loki 3's unordered head block de-duplicates entries of
/// the same nanosecond with the same content. Tests can script failures and read what was stored.
public final class LokiStandIn: Sendable {
    public struct Entry: Sendable, Equatable {
        public let timestamp: Int64
        public let line: String
    }

    public struct Options: Sendable {
        public var multiTenant = false
        public var maxBodyBytes = 4 << 20
        /// Line bytes per second per tenant, with a burst of 1.5 seconds' worth; nil: unlimited.
        public var bytesPerSecond: Int?

        public init(multiTenant: Bool = false, maxBodyBytes: Int = 4 << 20, bytesPerSecond: Int? = nil) {
            self.multiTenant = multiTenant
            self.maxBodyBytes = maxBodyBytes
            self.bytesPerSecond = bytesPerSecond
        }
    }

    struct State {
        var streams: [String: [Entry]] = [:]
        var seen: [String: Set<String>] = [:]
        var statuses: [Int] = []
        var scripted: [(status: Int, retryAfter: Int?)] = []
        var tokens = 0.0
        var lastRefill = Date()
        var duplicatesDropped = 0
        var tenants: Set<String> = []
    }

    let options: Options
    let state = NIOLockedValueBox(State())
    private let server: StandInServer

    public init(options: Options = Options()) throws {
        self.options = options
        let state = state
        server = try StandInServer { head, body in lokiAnswer(head, body, state: state, options: options) }
    }

    public var port: Int { server.port }

    public var pushURL: String { "http://127.0.0.1:\(port)/loki/api/v1/push" }

    /// The next `count` pushes are answered with `status` (and `Retry-After`, if given).
    public func fail(next count: Int, status: Int, retryAfter: Int? = nil) {
        state.withLockedValue { $0.scripted += Array(repeating: (status, retryAfter), count: count) }
    }

    /// Stored entries by stream, the stream written as its sorted `name=value` labels.
    public var streams: [String: [Entry]] { state.withLockedValue { $0.streams } }
    public var statuses: [Int] { state.withLockedValue { $0.statuses } }
    public var duplicatesDropped: Int { state.withLockedValue { $0.duplicatesDropped } }
    public var tenants: Set<String> { state.withLockedValue { $0.tenants } }

    public func shutdown() {
        server.shutdown()
    }

    /// Validates and stores one decoded push; returns the status and body to answer.
    static func push(
        body: Data, state: inout State, options: Options, now: Int64
    ) -> (Int, String) {
        guard let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let streams = json["streams"] as? [[String: Any]]
        else { return (400, "error parsing push request: not a JSON object with streams") }
        guard !streams.isEmpty else { return (422, "no streams") }
        var parsed: [(labels: [String: String], values: [(Int64, String)])] = []
        for stream in streams {
            guard let labels = stream["stream"] as? [String: String], let values = stream["values"] as? [[Any]] else {
                return (400, "error parsing push request: stream or values missing")
            }
            var entries: [(Int64, String)] = []
            for value in values {
                guard value.count >= 2, let text = value[0] as? String, let timestamp = Int64(text), let line = value[1] as? String
                else { return (400, "error parsing push request: timestamp must be a string of nanoseconds") }
                entries.append((timestamp, line))
            }
            parsed.append((labels, entries))
        }
        if let rate = options.bytesPerSecond {
            let bytes = Double(parsed.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.1.utf8.count } })
            let burst = Double(rate) * 1.5
            let elapsed = Date().timeIntervalSince(state.lastRefill)
            state.tokens = min(burst, state.tokens + elapsed * Double(rate))
            state.lastRefill = Date()
            guard state.tokens >= bytes else { return (429, "ingestion rate limit exceeded") }
            state.tokens -= bytes
        }
        var problems: [String] = []
        for (labels, values) in parsed {
            if let problem = labelProblem(labels) {
                problems.append(problem)
                continue
            }
            let key = labels.keys.sorted().map { "\($0)=\(labels[$0]!)" }.joined(separator: ",")
            var stored = state.streams[key] ?? []
            for (timestamp, line) in values {
                if line.utf8.count > 256 * 1024 {
                    problems.append("line too long")
                } else if timestamp < now - 7 * 86_400 * 1_000_000_000 {
                    problems.append("entry too far behind")
                } else if timestamp > now + 600 * 1_000_000_000 {
                    problems.append("entry too far in the future")
                } else if state.seen[key, default: []].contains("\(timestamp) \(line)") {
                    state.duplicatesDropped += 1
                } else if let newest = stored.map(\.timestamp).max(), timestamp < newest - 3_600 * 1_000_000_000 {
                    problems.append("entry out of order")
                } else {
                    stored.append(Entry(timestamp: timestamp, line: line))
                    state.seen[key, default: []].insert("\(timestamp) \(line)")
                }
            }
            state.streams[key] = stored
        }
        return problems.isEmpty ? (204, "") : (400, problems.joined(separator: "; "))
    }

    static func labelProblem(_ labels: [String: String]) -> String? {
        guard !labels.isEmpty else { return "stream has no labels" }
        guard labels.count <= 15 else { return "stream has more than 15 labels" }
        for (name, value) in labels {
            let valid = name.range(of: "^[a-zA-Z_][a-zA-Z0-9_]*$", options: .regularExpression) != nil
            guard valid, !name.hasPrefix("__"), name.utf8.count <= 1024 else { return "invalid label name \(name)" }
            guard value.utf8.count <= 2048 else { return "label value too long" }
        }
        return nil
    }
}

/// Loki's answer to one request, in the order Loki checks: route, tenant, scripted failure, size,
/// encoding, content type, then the push itself.
private func lokiAnswer(
    _ head: HTTPRequestHead, _ body: ByteBuffer, state: NIOLockedValueBox<LokiStandIn.State>, options: LokiStandIn.Options
) -> (status: Int, body: String, headers: [(String, String)]) {
    let now = Int64(Date().timeIntervalSince1970 * 1e9)
    return state.withLockedValue { state in
        let (status, text, retryAfter) = decide(head, body, state: &state, options: options, now: now)
        state.statuses.append(status)
        return (status, text, retryAfter.map { [("Retry-After", "\($0)")] } ?? [])
    }
}

private func decide(
    _ head: HTTPRequestHead, _ body: ByteBuffer, state: inout LokiStandIn.State, options: LokiStandIn.Options, now: Int64
) -> (Int, String, Int?) {
    guard head.method == .POST, head.uri == "/loki/api/v1/push" else { return (404, "404 page not found", nil) }
    let tenant = head.headers.first(name: "X-Scope-OrgID")
    if options.multiTenant && tenant == nil { return (401, "no org id", nil) }
    if let tenant { state.tenants.insert(tenant) }
    if !state.scripted.isEmpty {
        let scripted = state.scripted.removeFirst()
        return (scripted.status, "scripted \(scripted.status)", scripted.retryAfter)
    }
    guard body.readableBytes <= options.maxBodyBytes else { return (413, "request body too large", nil) }
    var bytes = Array(body.readableBytesView)
    switch head.headers.first(name: "Content-Encoding") {
    case nil: break
    case "gzip":
        var output = [UInt8](repeating: 0, count: max(1 << 16, bytes.count * 40))
        let capacity = output.count
        let size = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { ctestzlib_gunzip(input.baseAddress, input.count, $0.baseAddress, capacity) }
        }
        guard size > 0 else { return (400, "invalid gzip body", nil) }
        bytes = Array(output.prefix(size))
    case let other?: return (400, "unsupported Content-Encoding \(other)", nil)
    }
    guard head.headers.first(name: "Content-Type")?.hasPrefix("application/json") == true else {
        return (400, "error parsing push request: protobuf expected without Content-Type application/json", nil)
    }
    let (status, text) = LokiStandIn.push(body: Data(bytes), state: &state, options: options, now: now)
    return (status, text, nil)
}
