import CCurl
import Foundation
import Synchronization

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

/// What the server answered. The body is kept up to the client's limit (64 KiB unless set):
/// enough for any error message.
public struct OutputResponse: Sendable, Equatable {
    public var status: Int
    public var body: String
    /// `Retry-After` in seconds, when the server sent one.
    public var retryAfter: Duration?
}

/// A request that got no HTTP answer (refused, timed out, TLS failure…).
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public var reason: FailureReason
    public var message: String
    public var description: String { "\(reason.rawValue): \(message)" }
}

/// The HTTP client of one output: one libcurl easy handle (so connections are kept alive between
/// requests) used only on the output's own `IOThread`.
public final class OutputHTTPClient: @unchecked Sendable {
    // Why @unchecked Sendable is sound: `easy` and `responseBody` are touched only inside jobs
    // that run on `thread`, one at a time; everything else is immutable.
    private let thread: IOThread
    private let connection: OutputConnection
    private let easy = CurlEasy()
    private let userAgent = "latency-agent/\(AgentVersion.current)"
    fileprivate var responseBody: [UInt8] = []
    fileprivate let responseBodyLimit: Int

    public init(name: String, connection: OutputConnection, responseBodyLimit: Int = 64 * 1024) {
        self.thread = IOThread(name: "latency-agent-\(name)")
        self.connection = connection
        self.responseBodyLimit = responseBodyLimit
    }

    deinit {
        thread.stop()
    }

    public func send(_ request: OutputRequest) async -> Result<OutputResponse, TransportError> {
        await thread.run { self.perform(request) }
    }

    private func perform(_ request: OutputRequest) -> Result<OutputResponse, TransportError> {
        easy.reset()
        responseBody.removeAll(keepingCapacity: true)
        let headers = CurlStringList(
            request.headers.map { "\($0.name): \($0.value)" } + (connection.authorization?.headerLines ?? []) + ["Expect:"])
        do throws(CurlError) {
            try easy.set(CURLOPT_URL, request.url)
            try easy.set(CURLOPT_NOSIGNAL, true)
            try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
            try easy.set(CURLOPT_USERAGENT, userAgent)
            try easy.set(CURLOPT_TIMEOUT_MS, Int(connection.timeout.millisecondsRoundedUp))
            try easy.set(CURLOPT_HTTPHEADER, list: headers)
            try easy.set(CURLOPT_WRITEFUNCTION, callback: outputClientReceive)
            try easy.set(CURLOPT_WRITEDATA, pointer: Unmanaged.passUnretained(self).toOpaque())
            switch request.method {
            case "GET": try easy.set(CURLOPT_HTTPGET, true)
            default:
                try easy.setRequestBody(request.body)
                if request.method != "POST" { try easy.set(CURLOPT_CUSTOMREQUEST, request.method) }
            }
            try easy.apply(connection.tls)
            try easy.apply(basicAuthorization: connection.authorization)
        } catch {
            return .failure(TransportError(reason: .other, message: "\(error)"))
        }
        let code = easy.perform()
        guard code == CURLE_OK else {
            return .failure(
                TransportError(reason: FailureReason(curlCode: code), message: String(cString: curl_easy_strerror(code))))
        }
        return .success(
            OutputResponse(
                status: easy.int(CURLINFO_RESPONSE_CODE), body: String(decoding: responseBody, as: UTF8.self),
                retryAfter: easy.responseHeader("Retry-After").flatMap(Self.retryAfter)))
    }

    /// `Retry-After` as delay-seconds (what Slack and Loki send); an HTTP date is ignored.
    static func retryAfter(_ text: String) -> Duration? {
        Int(text.trimmingCharacters(in: .whitespaces)).flatMap { $0 >= 0 ? .seconds($0) : nil }
    }
}

private func outputClientReceive(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userData: UnsafeMutableRawPointer?
) -> Int {
    guard let userData, let data else { return 0 }
    let client = Unmanaged<OutputHTTPClient>.fromOpaque(userData).takeUnretainedValue()
    let length = size * count
    let room = max(0, client.responseBodyLimit - client.responseBody.count)
    client.responseBody.append(contentsOf: UnsafeRawBufferPointer(start: data, count: min(length, room)))
    return length
}
