import AgentCore
import TestSupport
import Testing

/// The test proxy itself must relay answers both ways, or outage tests prove nothing.
@Suite struct TCPProxyTests {
    @Test func relaysRequestsAndAnswersAndRefusesWhileDown() async throws {
        let server = try TargetServer()
        defer { server.shutdown() }
        let proxy = try TCPProxy(upstreamPort: server.port)
        defer { proxy.shutdown() }
        let client = OutputHTTPClient(name: "proxy-test", connection: ConnectionConfig(url: "http://127.0.0.1", timeout: .seconds(2)), scrubber: { SecretScrubber() })
        for _ in 0..<3 {
            let response = try await client.send(OutputRequest(method: "PUT", url: "http://127.0.0.1:\(proxy.port)/ok", body: Array("x".utf8))).get()
            #expect(response.status == 200)
            #expect(response.body == "ok")
        }
        proxy.down()
        guard case .failure(let error) = await client.send(OutputRequest(method: "GET", url: "http://127.0.0.1:\(proxy.port)/ok")) else {
            Issue.record("a request through a downed proxy must fail")
            return
        }
        #expect(error.reason == .connect)
        try proxy.up()
        let again = try await client.send(OutputRequest(method: "GET", url: "http://127.0.0.1:\(proxy.port)/ok")).get()
        #expect(again.status == 200)
    }
}
