import AgentCore
import Foundation

/// A real DNS server (Debian's dnsmasq) on 127.0.0.1 and a free port, answering only what the
/// test gives it: A/AAAA records from a hosts file the test replaces (dnsmasq's `--hostsdir`
/// re-reads it through inotify: no signal, which a test process's signal mask could block) and
/// SRV records fixed at start. Nothing is forwarded anywhere (`--no-resolv`).
public final class DNSMasq: Sendable {
    public let port: Int
    public let directory: String
    private let process: Process

    public static let binary = "/usr/sbin/dnsmasq"

    /// - Parameters:
    ///   - hosts: lines of a hosts file (`127.0.0.2 svc.test`); several lines for one name give several records.
    ///   - srv: `srv-host=` values (`_web._tcp.svc.test,node.test,8080`).
    public init(hosts: [String], srv: [String] = []) async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw Missing(what: "dnsmasq", install: "apt-get install dnsmasq-base (scripts/install-deps.sh test does it)")
        }
        directory = TestEnvironment.temporaryDirectory("dnsmasq")
        port = try closedLoopbackPort()
        try (srv.map { "srv-host=\($0)" }.joined(separator: "\n") + "\n").write(toFile: directory + "/dnsmasq.conf", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: directory + "/hosts.d", withIntermediateDirectories: true)
        // dnsmasq drops to "nobody" and must still read the hosts files.
        for path in [directory, directory + "/hosts.d"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        try Self.write(hosts, to: directory)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [
            "--no-daemon", "--port=\(port)", "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
            "--conf-file=\(directory)/dnsmasq.conf", "--hostsdir=\(directory)/hosts.d", "--pid-file=\(directory)/dnsmasq.pid",
            "--local-ttl=0", "--neg-ttl=0",
        ]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        self.process = process
        let resolver = DNSResolver(server: server, timeout: .milliseconds(500))
        do {
            _ = try await TestEnvironment.eventually(seconds: 10, "dnsmasq answering on port \(port)") { () async throws -> Bool? in
                // Any answer will do: with --no-resolv, dnsmasq refuses names it was not given.
                do {
                    _ = try await resolver.lookup("ready.invalid.", type: .a)
                } catch DNSLookupError.noSuchName, DNSLookupError.failed {
                }
                return true
            }
        } catch {
            stop()
            throw error
        }
    }

    public var server: DNSServer { DNSServer(host: "127.0.0.1", port: port) }
    public var address: String { "127.0.0.1:\(port)" }

    /// Replaces the hosts file by one rename, which dnsmasq notices and reads.
    public func setHosts(_ hosts: [String]) throws {
        try Self.write(hosts, to: directory)
    }

    /// Written beside the watched directory, then renamed into it: dnsmasq never sees a partial file.
    private static func write(_ hosts: [String], to directory: String) throws {
        let staged = directory + "/hosts.staged"
        try (hosts.joined(separator: "\n") + "\n").write(toFile: staged, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: staged)
        guard rename(staged, directory + "/hosts.d/hosts") == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    /// Stops the server: from now on questions go unanswered (a DNS outage).
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        // Bounded, and without `waitUntilExit`, which spins a run loop on the caller's thread.
        for _ in 0..<200 where process.isRunning { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    public struct Missing: Error, CustomStringConvertible {
        public let what: String
        public let install: String
        public var description: String { "\(what) is not installed; \(install)" }
    }
}
