import AgentCore
import ArgumentParser
import Foundation
import Logging

struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Probe a URL now and print each phase's time: curl -w, readable.",
        discussion: """
            Examples:
              latency-agent probe https://example.com/
              latency-agent probe https://api.internal/health --header 'Authorization: Bearer TOKEN' --count 5
              latency-agent probe http://127.0.0.1:8080/ --warm --count 3 --json
              latency-agent probe https://api.internal/search -d '{"q":"x"}' --expect-status 200,204 --expect-body '"hits"'
              latency-agent probe https://mtls.internal/ --cert client.pem --key client.key --ipv6
              latency-agent probe tcp://127.0.0.1:25 --query 'expect:^220' --query 'send:QUIT\\r' --query 'expect:^221'
              latency-agent probe tcp://127.0.0.1:6697 --tls --ca-file ca.pem --query 'send:PING x' --query 'expect:PONG'
            Exit status: 0 when every probe succeeded, 1 otherwise.
            """)

    @Argument(
        help: "What to probe: an http:// or https:// URL, tcp://host:port (connect), tls://host:port (connect and handshake), grpc(s)://host:port/service (gRPC health), dns://server/name?type=A or icmp://host."
    )
    var url: String

    @Option(name: .shortAndLong, help: "A request header as 'Name: value' (repeatable).")
    var header: [String] = []

    @Option(name: .shortAndLong, help: "How many probes to run.")
    var count: Int = 1

    @Option(help: "Pause between probes.")
    var interval: String = "1s"

    @Option(help: "Timeout of each probe.")
    var timeout: String = "10s"

    @Option(name: .shortAndLong, help: "HTTP method (default GET, or POST with --data).")
    var method: String?

    @Option(name: [.customShort("d"), .long], help: "Request body, as curl's -d (makes the method POST unless --method says otherwise).")
    var data: String?

    @Option(help: "Status codes that count as success: codes, ranges and classes, comma-separated (default 2xx).")
    var expectStatus: String?

    @Option(help: "Text the response body must contain.")
    var expectBody: String?

    @Flag(name: [.customShort("4"), .long], help: "Connect over IPv4 only.")
    var ipv4 = false

    @Flag(name: [.customShort("6"), .long], help: "Connect over IPv6 only.")
    var ipv6 = false

    @Option(help: "Client certificate (PEM) for mutual TLS.")
    var cert: String?

    @Option(help: "The client certificate's private key (PEM).")
    var key: String?

    @Flag(help: "Reuse the connection between probes (the first probe still pays for DNS, TCP and TLS).")
    var warm = false

    @Flag(help: "Do not verify the server's certificate.")
    var insecure = false

    @Option(help: "CA certificate file (PEM) to verify the server with.")
    var caFile: String?

    @Flag(help: "Do not follow redirects.")
    var noFollow = false

    @Option(help: "Send the request through this proxy (http://, https://, socks5://…).")
    var proxy: String?

    @Flag(help: "Use the proxy the environment names (http_proxy, https_proxy, no_proxy); ignored otherwise.")
    var proxyFromEnvironment = false

    @Option(
        help: ArgumentHelp(
            "A tcp:// dialogue step, in order (repeatable): 'expect:REGEX' waits for a matching line, 'send:TEXT' writes TEXT and a newline (\\r, \\n, \\t are escapes).",
            valueName: "step"))
    var query: [String] = []

    @Flag(help: "Speak TLS on a tcp:// connection from the start (certificate dates and verification as for tls://).")
    var tls = false

    @Flag(help: "Print each result as a JSON line instead of a table.")
    var json = false

    func validate() throws {
        if let problem = ProbeKind.problem(url) { throw ValidationError("the URL \(problem)") }
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be between 1 and 10000") }
        guard HumanUnits.duration(interval) != nil else { throw ValidationError("--interval \"\(interval)\" is not a duration") }
        guard (HumanUnits.duration(timeout) ?? .zero) > .zero else { throw ValidationError("--timeout \"\(timeout)\" is not a duration") }
        if ipv4 && ipv6 { throw ValidationError("--ipv4 and --ipv6 exclude each other") }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        for file in [cert, key, caFile].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: file) {
            throw ValidationError("cannot read file \"\(file)\"")
        }
        if let expectStatus, expectedStatus(expectStatus) == nil {
            throw ValidationError("--expect-status \"\(expectStatus)\" must be codes (200), ranges (200-299) or classes (2xx), comma-separated")
        }
        if proxy != nil && proxyFromEnvironment { throw ValidationError("--proxy and --proxy-from-environment exclude each other") }
        if let proxy, let problem = ProxyConfig.problem(proxy) { throw ValidationError("--proxy \(problem)") }
        let kind = ProbeKind(url: url)
        if (!query.isEmpty || tls) && kind != .tcp { throw ValidationError("--query and --tls apply to tcp:// URLs") }
        for step in query {
            guard let parsed = Self.queryStep(step), parsed.key == "send" || (try? Regex(parsed.value)) != nil else {
                throw ValidationError("--query \"\(step.prefix(40))\" must be 'expect:REGEX' (a valid regular expression) or 'send:TEXT'")
            }
        }
        for line in header where !line.contains(":") {
            throw ValidationError("--header \"\(line.prefix(40))\" needs the form 'Name: value'")
        }
    }

    /// `expect:REGEX` or `send:TEXT`, the text with its escapes turned into characters.
    private static func queryStep(_ text: String) -> (key: String, value: String)? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let key = String(text[..<colon])
        let value = String(text[text.index(after: colon)...])
        switch key {
        case "expect": return (key, value)
        case "send":
            let unescaped = value.replacingOccurrences(of: "\\\\", with: "\u{0}").replacingOccurrences(of: "\\r", with: "\r")
                .replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\t", with: "\t")
                .replacingOccurrences(of: "\u{0}", with: "\\")
            return (key, unescaped)
        default: return nil
        }
    }

    private func expectedStatus(_ text: String) -> StatusCodeSet? {
        let ranges = text.split(separator: ",").map { StatusCodeSet.parseItem($0.trimmingCharacters(in: .whitespaces)) }
        guard !ranges.isEmpty, !ranges.contains(where: { $0 == nil }) else { return nil }
        return StatusCodeSet(ranges.compactMap { $0 })
    }

    func run() async throws {
        let headers = header.map { line in
            let parts = line.split(separator: ":", maxSplits: 1)
            return HTTPHeader(
                name: parts[0].trimmingCharacters(in: .whitespaces),
                value: parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
        }
        let timeout = HumanUnits.duration(timeout)!
        let endpoint = EndpointConfig(
            name: URLRedaction.display(url), url: url, method: (method ?? (data == nil ? "GET" : "POST")).uppercased(), headers: headers,
            body: data, interval: max(timeout, HumanUnits.duration(interval)!), timeout: timeout,
            expectedStatus: expectStatus.flatMap(expectedStatus) ?? .success, bodyMatch: expectBody.map { .contains($0) },
            redirects: RedirectPolicy(follow: !noFollow), tls: TLSConfig(caFile: caFile, certFile: cert, keyFile: key, insecure: insecure),
            ipFamily: ipv4 ? .ipv4 : (ipv6 ? .ipv6 : .any), connection: warm ? .warm : .cold,
            proxy: proxy.map { .url($0, noProxy: []) } ?? (proxyFromEnvironment ? .environment : .direct),
            tcp: TCPOptions(
                tls: tls,
                queryResponse: query.compactMap(Self.queryStep).map { step in
                    step.key == "expect" ? .init(expect: step.value) : .init(send: step.value)
                }))
        let scrubber = SecretScrubber(secrets: headers.filter { !$0.value.isEmpty }.map(\.value) + URLRedaction.credentials(in: url))
        var logger = Logger(label: "latency-agent")
        logger.logLevel = .warning
        let engine = ProbeEngine(seed: "probe", logger: logger) { _ in }
        var failures = 0
        for index in 1...count {
            if index > 1 { try await Task.sleep(for: HumanUnits.duration(interval)!) }
            let result = try await engine.probe(endpoint, scrubber: scrubber)
            if !result.succeeded { failures += 1 }
            print(json ? result.jsonLine(node: nil) : PhaseTable.render(result, index: index, of: count))
        }
        await engine.shutdown(grace: .seconds(1))
        if failures > 0 { throw ExitCode(1) }
    }
}
