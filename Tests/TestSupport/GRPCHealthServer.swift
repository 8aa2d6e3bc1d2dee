import Foundation

/// A real gRPC health server (PyPI's `grpcio` and `grpcio-health-checking`, run by the Python
/// that `scripts/test.sh` exports as `GRPC_PYTHON`) on loopback: h2c on `port`, TLS on
/// `tlsPort` when given certificates. The empty service starts SERVING.
public final class GRPCHealthServer: @unchecked Sendable {
    // Why @unchecked Sendable is sound: `process` and `control` are set once in `init`;
    // `setStatus` writes whole lines to the pipe and then only reads files, and `acks` is
    // guarded by `lock`.
    public let port: Int
    public let tlsPort: Int
    private let process: Process
    private let control: Pipe
    private let portFile: String
    private let lock = NSLock()
    private var acks = 0

    public init(certificates: TestCertificates? = nil) async throws {
        let python = try TestEnvironment.require("GRPC_PYTHON")
        let directory = TestEnvironment.temporaryDirectory("grpc")
        portFile = directory + "/ports"
        var arguments = [Self.script, portFile]
        if let certificates {
            try certificates.leafPEM.write(toFile: directory + "/cert.pem", atomically: true, encoding: .utf8)
            try certificates.leafKeyPEM.write(toFile: directory + "/key.pem", atomically: true, encoding: .utf8)
            arguments += [directory + "/cert.pem", directory + "/key.pem"]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        let control = Pipe()
        process.standardInput = control
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        _ = FileManager.default.createFile(atPath: directory + "/stderr", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: directory + "/stderr")
        try process.run()
        self.process = process
        self.control = control
        let file = portFile
        let ports = try await TestEnvironment.eventually(seconds: 20, "the gRPC health server writing its ports") { () -> [Int]? in
            guard process.isRunning else {
                let log = (try? String(contentsOfFile: directory + "/stderr", encoding: .utf8)) ?? ""
                throw Failed(description: "the gRPC health server exited: \(log.suffix(800))")
            }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
            let ports = text.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            return ports.count == 2 ? ports : nil
        }
        port = ports[0]
        tlsPort = ports[1]
    }

    /// Sets `service`'s serving status (`SERVING`, `NOT_SERVING`, …; "" is the server as a
    /// whole) and returns once the server holds it.
    public func setStatus(_ service: String, _ status: String) async throws {
        let wanted = lock.withLock {
            acks += 1
            return acks
        }
        control.fileHandleForWriting.write(Data("\(service.isEmpty ? "-" : service) \(status)\n".utf8))
        let file = portFile + ".acks"
        _ = try await TestEnvironment.eventually(seconds: 10, "the gRPC health server setting \(service) \(status)") { () -> Bool? in
            let lines = ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").count
            return lines >= wanted ? true : nil
        }
    }

    public func stop() {
        guard process.isRunning else { return }
        try? control.fileHandleForWriting.close()
        for _ in 0..<200 where process.isRunning { usleep(10_000) }
        if process.isRunning { process.terminate() }
        for _ in 0..<100 where process.isRunning { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    deinit { stop() }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("grpc-health-server.py").path

    struct Failed: Error, CustomStringConvertible {
        let description: String
    }
}
