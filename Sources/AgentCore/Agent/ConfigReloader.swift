import Logging

/// Applies a re-read configuration to the running agent, at most once a second: requests that
/// arrive while a reload is due or running share its outcome, so a burst of SIGHUPs or
/// `POST /-/reload` calls costs one reload and one log line, not one per call.
actor ConfigReloader {
    private let load: (@Sendable () throws(ConfigError) -> Configuration)?
    private let live: LiveConfig
    private let engine: ProbeEngine
    private let logger: Logger
    private var pending: Task<Result<String, ConfigError>, Never>?
    private var lastReload: MonotonicInstant?
    /// Reloads closer together than this are merged into one.
    static let spacing = Duration.seconds(1)

    init(load: (@Sendable () throws(ConfigError) -> Configuration)?, live: LiveConfig, engine: ProbeEngine, logger: Logger) {
        self.load = load
        self.live = live
        self.engine = engine
        self.logger = logger
    }

    /// Re-reads the configuration. A valid one replaces the endpoints at once (unchanged ones keep
    /// their rhythm, spooled data is untouched); an invalid one is logged and the running one kept.
    /// Other sections take effect at the next start, and the log says so.
    func reload() async -> Result<String, ConfigError> {
        if let pending { return await pending.value }
        let wait = lastReload.map { ($0 + Self.spacing).duration(after: .now) } ?? .zero
        let task = Task { [self] in
            if wait > .zero { try? await Task.sleep(for: wait) }
            return await apply()
        }
        pending = task
        let outcome = await task.value
        pending = nil
        lastReload = .now
        return outcome
    }

    private func apply() -> Result<String, ConfigError> {
        guard let load else {
            return .failure(ConfigError(source: "latency-agent", message: "started without a configuration source to reload from"))
        }
        let next: Configuration
        do {
            next = try load()
        } catch {
            logger.error("configuration reload rejected; keeping the running configuration", metadata: ["error": "\(error)"])
            return .failure(error)
        }
        var current = live.configuration
        let before = Dictionary(uniqueKeysWithValues: current.endpoints.map { ($0.name, $0) })
        let after = Dictionary(uniqueKeysWithValues: next.endpoints.map { ($0.name, $0) })
        let added = after.keys.filter { before[$0] == nil }.count
        let removed = before.keys.filter { after[$0] == nil }.count
        let changed = after.keys.filter { before[$0] != nil && before[$0] != after[$0] }.count
        var deferred: [String] = []
        if next.agent != current.agent { deferred.append("agent") }
        if next.spool != current.spool { deferred.append("spool") }
        if next.outputs != current.outputs { deferred.append("outputs") }
        if next.server != current.server { deferred.append("server") }
        // Alert rules live on their endpoints and change with them; receivers, maintenance and
        // grouping wait for a restart.
        if next.alerting != current.alerting { deferred.append("alerting") }
        current.endpoints = next.endpoints
        live.replace(with: current)
        engine.setEndpoints(current.endpoints, scrubber: current.scrubber)
        let summary = "reloaded: \(next.endpoints.count) endpoints (\(added) added, \(removed) removed, \(changed) changed)"
        logger.notice("configuration reloaded", metadata: [
            "endpoints": "\(next.endpoints.count)", "added": "\(added)", "removed": "\(removed)", "changed": "\(changed)",
        ])
        if !deferred.isEmpty {
            logger.warning("these sections changed and take effect at the next start", metadata: ["sections": "\(deferred.joined(separator: ","))"])
        }
        return .success(summary + (deferred.isEmpty ? "" : "; restart to apply changes to \(deferred.joined(separator: ", "))"))
    }
}
