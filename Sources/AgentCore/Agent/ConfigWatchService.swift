import Foundation
import Logging
import ServiceLifecycle

/// Reloads the configuration when its file, or a file it reads (secrets, certificates), changes —
/// including the kubelet's atomic update of a mounted ConfigMap or Secret — as SIGHUP would.
/// An invalid new file is rejected with its position by the reload itself, and the running
/// configuration stays.
struct ConfigWatchService: Service, CustomStringConvertible {
    let live: LiveConfig
    let reload: @Sendable () async -> Result<String, ConfigError>
    let logger: Logger
    var description: String { "ConfigWatchService" }

    /// How long changes must be quiet before the reload.
    static let quiet = Duration.milliseconds(300)
    /// How long one wait on the watcher's thread may block, so shutdown is noticed promptly.
    static let longestWait = Duration.milliseconds(250)

    func run() async throws {
        await watchUntilShutdown()
        // A service that returns ends the agent: when there is nothing (more) to watch, wait.
        try? await gracefulShutdown()
    }

    private func watchUntilShutdown() async {
        let config = live.configuration
        guard config.agent.reloadOnChange, !config.sourceFiles.isEmpty else { return }
        let watcher = DirectoryWatchThread(name: "latency-agent-config-watch")
        defer { watcher.stop() }
        var plan = ConfigWatchPlan(files: Self.files(config.sourceFiles), quiet: Self.quiet)
        guard await watch(plan.directories, with: watcher) else { return }
        logger.info("reloading the configuration when its files change", metadata: ["directories": "\(plan.directories.sorted())"])
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let changes = await watcher.wait(timeout: plan.wait(at: .now, atMost: Self.longestWait))
            let now = MonotonicInstant.now
            for change in changes { plan.changed(change, at: now) }
            guard plan.reloadIsDue(at: now) else { continue }
            _ = await reload()
            // The new configuration may read other files, and a swapped directory needs a new watch.
            plan.setFiles(Self.files(live.configuration.sourceFiles))
            _ = await watch(plan.directories, with: watcher)
        }
    }

    /// Returns false when the watcher could not start at all (the feature is then off, and logged).
    private func watch(_ directories: Set<String>, with watcher: DirectoryWatchThread) async -> Bool {
        let failures = await watcher.watch(directories)
        guard !failures.isEmpty else { return true }
        logger.warning(
            "cannot watch the configuration's files; changes need SIGHUP or POST /-/reload", metadata: ["errors": "\(failures)"])
        return await watcher.isWorking
    }

    private static func files(_ paths: [String]) -> [ConfigWatchPlan.File] {
        paths.map { path in
            let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            return ConfigWatchPlan.File(path: path, resolved: resolved == path ? nil : resolved)
        }
    }
}
