import AgentCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import TestSupport
import Testing

/// Reload on change, with directories updated the way the kubelet updates a mounted ConfigMap or
/// Secret: new files in a fresh `..<timestamp>` directory, the `..data` symlink swapped to it by
/// one rename, the old directory deleted; the visible files are symlinks through `..data`.
@Suite struct ConfigWatchTests {
    /// A directory laid out and updated as the kubelet's atomic writer does it.
    struct KubeletMount {
        let directory: String
        private let generation = NIOLockedValueBox(0)

        init(_ name: String) {
            directory = TestEnvironment.temporaryDirectory(name)
        }

        func path(_ name: String) -> String { directory + "/" + name }

        func update(_ files: [String: String]) throws {
            let manager = FileManager.default
            let previous = try? manager.destinationOfSymbolicLink(atPath: path("..data"))
            let version = generation.withLockedValue { $0 += 1; return "..2026_12_03_00_00_0\($0).\(UUID().uuidString.prefix(8))" }
            try manager.createDirectory(atPath: path(version), withIntermediateDirectories: false)
            for (name, contents) in files {
                try contents.write(toFile: path(version) + "/" + name, atomically: false, encoding: .utf8)
                if (try? manager.destinationOfSymbolicLink(atPath: path(name))) == nil {
                    try manager.createSymbolicLink(atPath: path(name), withDestinationPath: "..data/" + name)
                }
            }
            try manager.createSymbolicLink(atPath: path("..data_tmp"), withDestinationPath: version)
            #expect(rename(path("..data_tmp"), path("..data")) == 0, "the kubelet's swap is one rename")
            if let previous { try manager.removeItem(atPath: path(previous)) }
        }
    }

    static func config(spool: String, url: String, tokenFile: String) -> String {
        """
        agent: {node: watched, min_interval: 10ms}
        spool: {path: \(spool)}
        server: {enabled: false}
        endpoints:
          - {name: api, url: "\(url)", interval: 50ms, bearer_token_file: \(tokenFile), body_match: {contains: "Bearer rotated"}}
        """
    }

    @Test func aSwappedConfigMapAndARotatedSecretApplyWithoutASignal() async throws {
        let target = try TargetServer()
        defer { target.shutdown() }
        let configMap = KubeletMount("watch-config")
        let secret = KubeletMount("watch-secret")
        let spool = TestEnvironment.temporaryDirectory("watch-spool")
        try secret.update(["token": "first\n"])
        try configMap.update(["agent.yaml": Self.config(spool: spool, url: target.url("/headers"), tokenFile: secret.path("token"))])
        let loader = ConfigLoader(environment: [:], hostname: "h")
        let path = configMap.path("agent.yaml")
        let lines = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "test") { _ in CapturingLogHandler(lines: lines) }
        let agent = try Agent(
            config: try loader.load(path: path), loadConfig: { () throws(ConfigError) in try loader.load(path: path) }, stopSignals: [],
            logger: logger)
        try await withRunningAgent(agent) { agent in
            _ = try await TestEnvironment.eventually(seconds: 20, "probed with the first token") {
                target.requests(to: "/headers") >= 3 ? true : nil
            }
            #expect(try agent.spool.results(after: 0, limit: 10_000).allSatisfy { !$0.value.succeeded }, "the first token does not match")

            // The Secret rotates: the endpoint's token is re-read and the probe now matches.
            try secret.update(["token": "rotated\n"])
            _ = try await TestEnvironment.eventually(seconds: 20, "a probe with the rotated token") {
                try agent.spool.results(after: 0, limit: 100_000).contains { $0.value.succeeded } ? true : nil
            }

            // The ConfigMap changes the URL: the new one is probed, the old one no more.
            try configMap.update(["agent.yaml": Self.config(spool: spool, url: target.url("/ok"), tokenFile: secret.path("token"))
                .replacingOccurrences(of: ", body_match: {contains: \"Bearer rotated\"}", with: "")])
            _ = try await TestEnvironment.eventually(seconds: 20, "the new URL probed") {
                target.requests(to: "/ok") >= 3 ? true : nil
            }
            let oldURLAfterSwap = target.requests(to: "/headers")

            // An invalid ConfigMap is rejected with its position and the running one stays.
            try configMap.update(["agent.yaml": "endpoints: [{url: \"http://127.0.0.1:1/\", interval: 1ms}]\n"])
            let rejected = try await TestEnvironment.eventually(seconds: 20, "the invalid file rejected") {
                lines.withLockedValue { $0.first { $0.contains("configuration reload rejected") } }
            }
            #expect(rejected.contains("agent.yaml:1:"), "\(rejected)")
            let probedBefore = target.requests(to: "/ok")
            _ = try await TestEnvironment.eventually(seconds: 20, "probing goes on with the running configuration") {
                target.requests(to: "/ok") >= probedBefore + 3 ? true : nil
            }
            #expect(target.requests(to: "/headers") <= oldURLAfterSwap + 1, "the old URL stays removed (one may have been in flight)")
            #expect(agent.live.configuration.endpoints.map(\.url) == [target.url("/ok")])
        }
        let reloads = lines.withLockedValue { $0.filter { $0.contains("configuration reloaded") }.count }
        #expect(reloads == 2, "one reload per change, however many events each swap made: \(reloads)")
    }

    @Test func anEditorsSaveIsOneReloadAndTheWatchCanBeTurnedOff() async throws {
        let target = try TargetServer()
        defer { target.shutdown() }
        let directory = TestEnvironment.temporaryDirectory("watch-editor")
        let path = directory + "/agent.yaml"
        @Sendable func write(_ probePath: String, watch: Bool) throws {
            try """
                agent: {node: edited, min_interval: 10ms, reload_on_change: \(watch)}
                spool: {path: \(directory)/spool}
                server: {enabled: false}
                endpoints: [{name: api, url: "\(target.url(probePath))", interval: 50ms}]
                """.write(toFile: path, atomically: true, encoding: .utf8)
        }
        for watch in [true, false] {
            try write("/ok", watch: watch)
            let loader = ConfigLoader(environment: [:], hostname: "h")
            let lines = NIOLockedValueBox<[String]>([])
            let agent = try Agent(
                config: try loader.load(path: path), loadConfig: { () throws(ConfigError) in try loader.load(path: path) },
                stopSignals: [], logger: Logger(label: "test") { _ in CapturingLogHandler(lines: lines) })
            let before = target.requests(to: "/status/204")
            try await withRunningAgent(agent) { agent in
                _ = try await TestEnvironment.eventually(seconds: 20, "probing") { target.requests(to: "/ok") >= 2 ? true : nil }
                try write("/status/204", watch: watch)
                if watch {
                    _ = try await TestEnvironment.eventually(seconds: 20, "the saved file applied") {
                        target.requests(to: "/status/204") > before + 2 ? true : nil
                    }
                } else {
                    // Nothing to wait for but time: the agent must not act. A SIGHUP-equivalent
                    // reload afterwards shows the file was readable all along.
                    let probed = target.requests(to: "/ok")
                    _ = try await TestEnvironment.eventually(seconds: 20, "probing goes on") {
                        target.requests(to: "/ok") >= probed + 10 ? true : nil
                    }
                    #expect(target.requests(to: "/status/204") == before, "with reload_on_change: false a save changes nothing")
                    #expect(try await agent.reload().get().contains("(0 added, 0 removed, 1 changed)"))
                }
            }
            let reloads = lines.withLockedValue { $0.filter { $0.contains("configuration reloaded") }.count }
            #expect(reloads == 1, "watch \(watch): \(reloads) reloads")
        }
    }
}
