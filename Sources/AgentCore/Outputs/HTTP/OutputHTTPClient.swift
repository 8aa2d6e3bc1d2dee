import CCurl
import Foundation

/// A request an output sends.
public struct OutputRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [HTTPHeader]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [HTTPHeader] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// What the server answered, scrubbed of every configured secret. The body is kept up to the
/// client's limit (64 KiB unless set): enough for any error message.
public struct OutputResponse: Sendable, Equatable {
    public var status: Int
    public var body: String
    /// `Retry-After`, when the server sent one (seconds or an HTTP date).
    public var retryAfter: Duration?

    public init(status: Int, body: String, retryAfter: Duration? = nil) {
        self.status = status
        self.body = body
        self.retryAfter = retryAfter
    }

    /// `HTTP 429: rate_limited`: how logs, `/status` and health name the answer.
    public var summary: String {
        let text = body.prefix(300).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "HTTP \(status)" : "HTTP \(status): \(text)"
    }
}

/// A request that got no HTTP answer (refused, timed out, TLS failure…), in libcurl's words,
/// scrubbed of every configured secret.
public struct TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: FailureReason
    public var message: String

    public init(reason: FailureReason, message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}

/// The HTTP client of one output: one libcurl transfer (so connections are kept alive between
/// requests) living on the output's own `IOThread`.
public final class OutputHTTPClient: Sendable {
    private let thread: IOThread<Result<CurlTransfer, CurlError>>
    private let connection: ConnectionConfig
    private let scrubber: @Sendable () -> SecretScrubber
    private static let userAgent = "latency-agent/\(AgentVersion.current)"

    /// - Parameter scrubber: the secrets to remove from answers and errors (the live
    ///   configuration's, so a reload's new secrets are covered too).
    public init(
        name: String, connection: ConnectionConfig, responseBodyLimit: Int = 64 * 1024,
        scrubber: @escaping @Sendable () -> SecretScrubber
    ) {
        self.thread = IOThread(name: "latency-agent-\(name)") {
            Result { () throws(CurlError) in try CurlTransfer(keepBody: responseBodyLimit, keepsDescriptorReserve: false) }
        }
        self.connection = connection
        self.scrubber = scrubber
    }

    public func send(_ request: OutputRequest) async -> Result<OutputResponse, TransportError> {
        let connection = connection
        let outcome = await thread.run { transfer in
            Self.perform(request, connection: connection, on: transfer)
        }
        let scrubber = scrubber()
        return outcome
            .map { OutputResponse(status: $0.status, body: scrubber.scrub($0.body), retryAfter: $0.retryAfter) }
            .mapError { TransportError(reason: $0.reason, message: scrubber.scrub($0.message)) }
    }

    private static func perform(
        _ request: OutputRequest, connection: ConnectionConfig, on made: Result<CurlTransfer, CurlError>
    ) -> Result<OutputResponse, TransportError> {
        let transfer: CurlTransfer
        switch made {
        case .success(let value): transfer = value
        case .failure(let error): return .failure(TransportError(reason: .other, message: "\(error)"))
        }
        let easy = transfer.easy
        easy.reset()
        let headers = CurlStringList(
            request.headers.map { "\($0.name): \($0.value)" } + (connection.authorization?.headerLines ?? []) + ["Expect:"])
        do throws(CurlError) {
            try transfer.installSinks()
            try easy.set(CURLOPT_URL, request.url)
            try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
            try easy.set(CURLOPT_USERAGENT, userAgent)
            try easy.set(CURLOPT_TIMEOUT_MS, Int(connection.timeout.inMillisecondsRoundedUp))
            try easy.set(CURLOPT_HTTPHEADER, list: headers)
            switch request.method {
            case "GET": try easy.set(CURLOPT_HTTPGET, true)
            default:
                try easy.setRequestBody(request.body)
                if request.method != "POST" { try easy.set(CURLOPT_CUSTOMREQUEST, request.method) }
            }
            try easy.apply(connection.tls)
            try easy.apply(basicAuthorization: connection.authorization)
            try easy.apply(ProxyConfig.direct)
        } catch {
            return .failure(TransportError(reason: .other, message: "\(error)"))
        }
        transfer.begin()
        let code = easy.perform()
        guard code == CURLE_OK else {
            let (reason, message) = transfer.failure(code)
            return .failure(TransportError(reason: reason, message: message))
        }
        return .success(
            OutputResponse(
                status: easy.int(CURLINFO_RESPONSE_CODE), body: transfer.bodyText,
                retryAfter: easy.responseHeader("Retry-After").first.flatMap { RetryAfter.parse($0, now: .now) }))
    }
}

/// `Retry-After` as delay-seconds (`120`) or an HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`).
public enum RetryAfter {
    public static func parse(_ text: String, now: Timestamp) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed) { return seconds >= 0 ? .seconds(seconds) : nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        // IMF-fixdate first, then the two obsolete forms RFC 9110 still asks receivers to accept.
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: trimmed) {
                return max(.zero, Timestamp(date) - now)
            }
        }
        return nil
    }
}
