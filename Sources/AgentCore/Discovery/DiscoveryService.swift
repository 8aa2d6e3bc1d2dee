import Logging
import ServiceLifecycle

/// Keeps each discovery source's endpoints current: refreshes it at its interval (a target file
/// also as soon as it changes), turns what it found into endpoints, and hands them to the
/// reloader, which applies them as a reload would (unchanged endpoints keep their rhythm and
/// counters). What each source did is recorded for `/status` and the self-metrics.
struct DiscoveryService: Service, CustomStringConvertible {
    let config: DiscoveryConfig
    let agent: AgentConfig
    let status: DiscoveryStatus
    let apply: @Sendable (_ endpoints: [EndpointConfig], _ source: String) async -> [String]
    let logger: Logger
    var description: String { "DiscoveryService" }

    /// How long target file changes must be quiet before the file is read.
    static let quiet = Duration.milliseconds(300)
    static let longestWait = Duration.milliseconds(250)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for source in config.sources {
                    group.addTask { await follow(source) }
                }
            }
        }
        // A service that returns ends the agent: with no sources, wait for the shutdown.
        try? await gracefulShutdown()
    }

    private func follow(_ source: DiscoverySourceConfig) async {
        var state = DiscoveredEndpoints(template: source.template)
        var reported: [String] = []
        guard case .files(let patterns) = source.kind else {
            while !Task.isCancelled {
                await refresh(source, state: &state, reported: &reported)
                try? await Task.sleep(for: source.refreshInterval)
            }
            return
        }
        let watcher = DirectoryWatchThread(name: "latency-agent-file-sd")
        defer { watcher.stop() }
        var plan = ConfigWatchPlan(files: patterns.map(ConfigWatchPlan.File.glob), quiet: Self.quiet)
        var nextRefresh = MonotonicInstant.now
        var watchProblems: [String] = []
        while !Task.isCancelled {
            let now = MonotonicInstant.now
            if now >= nextRefresh || plan.reloadIsDue(at: now) {
                // A directory that appeared since is watched from now on.
                let problems = await watcher.watch(plan.directories)
                if problems != watchProblems, !problems.isEmpty {
                    logger.warning(
                        "discovery: cannot watch the target files' directories; they are read every refresh_interval",
                        metadata: ["source": "\(source.name)", "errors": "\(problems)"])
                }
                watchProblems = problems
                await refresh(source, state: &state, reported: &reported)
                nextRefresh = .now + source.refreshInterval
            }
            let wait = min(plan.wait(at: .now, atMost: Self.longestWait), max(.zero, nextRefresh - .now))
            let changes = await watcher.wait(timeout: wait)
            let seen = MonotonicInstant.now
            for change in changes { plan.changed(change, at: seen) }
        }
    }

    private func refresh(_ source: DiscoverySourceConfig, state: inout DiscoveredEndpoints, reported: inout [String]) async {
        let before = Set(state.endpoints.map(\.name))
        let parts = await TargetFinder.find(source.kind)
        var problems: [String]
        if state.apply(parts, agent: agent) {
            let names = Set(state.endpoints.map(\.name))
            let skipped = await apply(state.endpoints, source.name)
            problems = state.problems + skipped
            logger.notice(
                "discovery: the endpoints of a source changed",
                metadata: [
                    "source": "\(source.name)", "endpoints": "\(names.count)", "added": "\(names.subtracting(before).count)",
                    "removed": "\(before.subtracting(names).count)",
                ])
        } else {
            problems = state.problems
        }
        status.record(source: source.name, at: .now, targets: state.endpoints.count, problems: problems)
        // A source that keeps failing the same way is logged once, not at every refresh.
        if problems != reported {
            if problems.isEmpty {
                logger.notice("discovery: a source refreshes without problems again", metadata: ["source": "\(source.name)"])
            } else {
                let shown = problems.prefix(10) + (problems.count > 10 ? ["and \(problems.count - 10) more"] : [])
                var metadata: Logger.Metadata = ["source": "\(source.name)", "problems": "\(Array(shown))"]
                if !state.kept.isEmpty { metadata["keeping_last_good_targets_of"] = "\(state.kept)" }
                logger.warning("discovery: a source has problems; what it last gave is kept", metadata: metadata)
            }
            reported = problems
        }
    }
}
