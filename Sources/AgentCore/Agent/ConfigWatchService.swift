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
        #if canImport(Glibc)
        let thread = IOThread<Result<DirectoryWatcher, DirectoryWatcherError>>(name: "latency-agent-config-watch") {
            Result { () throws(DirectoryWatcherError) in try DirectoryWatcher() }
        }
        defer { thread.stop() }
        var plan = ConfigWatchPlan(files: Self.files(config.sourceFiles), quiet: Self.quiet)
        guard await watch(plan.directories, on: thread) else { return }
        logger.info("reloading the configuration when its files change", metadata: ["directories": "\(plan.directories.sorted())"])
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let wait = plan.wait(at: .now, atMost: Self.longestWait)
            let changes = await thread.run { watcher in (try? watcher.get())?.wait(timeout: wait) ?? [] }
            let now = MonotonicInstant.now
            for change in changes { plan.changed(change, at: now) }
            guard plan.reloadIsDue(at: now) else { continue }
            _ = await reload()
            // The new configuration may read other files, and a swapped directory needs a new watch.
            plan.setFiles(Self.files(live.configuration.sourceFiles))
            _ = await watch(plan.directories, on: thread)
        }
        #endif
    }

    #if canImport(Glibc)
    /// Returns false when the watcher could not start at all (the feature is then off, and logged).
    private func watch(_ directories: Set<String>, on thread: IOThread<Result<DirectoryWatcher, DirectoryWatcherError>>) async -> Bool {
        let failures = await thread.run { watcher -> [String] in
            switch watcher {
            case .success(let watcher): return watcher.watch(directories).map(\.description)
            case .failure(let error): return [error.description]
            }
        }
        guard !failures.isEmpty else { return true }
        logger.warning(
            "cannot watch the configuration's files; changes need SIGHUP or POST /-/reload", metadata: ["errors": "\(failures)"])
        return await thread.run { (try? $0.get()) != nil }
    }
    #endif

    private static func files(_ paths: [String]) -> [ConfigWatchPlan.File] {
        paths.map { path in
            let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            return ConfigWatchPlan.File(path: path, resolved: resolved == path ? nil : resolved)
        }
    }
}
