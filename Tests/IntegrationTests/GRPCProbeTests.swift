import AgentCore
import Foundation
import Logging
import TestSupport
import Testing

/// The gRPC health probe against grpcio's own health servicer on loopback, over h2c and TLS.
@Suite struct GRPCProbeTests {
    static let certificates = try! TestCertificates(caValidFor: 2 * 86400, leafValidFor: 5 * 86400)
    static let caFile = try! certificates.writeCAFile()

    func probe(_ url: String, _ configure: (inout EndpointConfig) -> Void = { _ in }) async throws -> ProbeResult {
        var endpoint = EndpointConfig(name: "grpc", url: url, interval: .seconds(10), timeout: .seconds(5))
        configure(&endpoint)
        return try await probeOnce(endpoint)
    }

    @Test func aServingServerPassesOverH2CAndTheStatusIsRecorded() async throws {
        let server = try await GRPCHealthServer()
        defer { server.stop() }
        let result = try await probe("grpc://127.0.0.1:\(server.port)")
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        #expect(result.method == "GRPC" && result.httpVersion == "2" && result.statusCode == 200)
        #expect(result.details.grpc == ProbeDetails.GRPC(statusCode: 0, servingStatus: .serving))
        #expect(result.timings.connect != nil && result.timings.processing != nil && result.timings.tls == nil)
    }

    @Test func eachServiceIsCheckedByNameAndNotServingIsItsOwnReason() async throws {
        let server = try await GRPCHealthServer()
        defer { server.stop() }
        try await server.setStatus("payments.v1.Payments", "SERVING")
        try await server.setStatus("ledger", "NOT_SERVING")
        let serving = try await probe("grpc://127.0.0.1:\(server.port)/payments.v1.Payments")
        #expect(serving.failure == nil, "\(String(describing: serving.failure))")
        let notServing = try await probe("grpc://127.0.0.1:\(server.port)/ledger")
        #expect(notServing.failure?.reason == .notServing)
        #expect(notServing.failure?.message == "health check of service ledger answered NOT_SERVING")
        #expect(notServing.details.grpc?.servingStatus == .notServing)
        // A service the server does not know is a gRPC error (NOT_FOUND), with the server's words.
        let unknown = try await probe("grpc://127.0.0.1:\(server.port)/nobody")
        #expect(unknown.failure?.reason == .grpcStatus)
        #expect(unknown.details.grpc?.statusCode == 5)
        #expect(unknown.failure?.message.hasPrefix("health check of service nobody ended NOT_FOUND (5)") == true)
        // The status follows the server: the same service back to SERVING passes again.
        try await server.setStatus("ledger", "SERVING")
        #expect(try await probe("grpc://127.0.0.1:\(server.port)/ledger").failure == nil)
    }

    @Test func grpcsVerifiesTheServerAndRecordsTheHandshake() async throws {
        let server = try await GRPCHealthServer(certificates: Self.certificates)
        defer { server.stop() }
        let result = try await probe("grpcs://127.0.0.1:\(server.tlsPort)") { $0.tls.caFile = Self.caFile }
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        #expect(result.timings.tls != nil && result.httpVersion == "2")
        #expect(result.details.tlsVersion?.hasPrefix("TLS 1.") == true)
        #expect(result.chainEarliestExpiry != nil)
        let untrusted = try await probe("grpcs://127.0.0.1:\(server.tlsPort)")
        #expect(untrusted.failure?.reason == .tls)
    }

    @Test func somethingThatIsNotAGRPCServerFailsTheProbe() async throws {
        let http = try TargetServer()
        defer { http.shutdown() }
        let result = try await probe("grpc://127.0.0.1:\(http.port)")
        #expect(result.failure != nil)
        #expect(result.details.grpc == nil)
        let refused = try await probe("grpc://127.0.0.1:\(try closedLoopbackPort())")
        #expect(refused.failure?.reason == .connect)
    }
}
