import Logging

/// Applies a re-read configuration to the running agent.
struct ConfigReloader: Sendable {
    let load: (@Sendable () throws(ConfigError) -> AgentConfig)?
    let live: LiveConfig
    let engine: ProbeEngine
    let logger: Logger

    /// Re-reads the configuration. A valid one replaces the endpoints at once (unchanged ones keep
    /// their rhythm, spooled data is untouched); an invalid one is logged and the running one kept.
    /// Other sections take effect at the next start, and the log says so.
    func reload() async -> Result<String, ConfigError> {
        guard let load else {
            return .failure(ConfigError(source: "latency-agent", message: "started without a configuration source to reload from"))
        }
        let next: AgentConfig
        do {
            next = try load()
        } catch {
            logger.error("configuration reload rejected; keeping the running configuration", metadata: ["error": "\(error)"])
            return .failure(error)
        }
        var current = live.config
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
        // Alert rules belong to their endpoints and change with them; receivers, maintenance and
        // grouping wait for a restart.
        var nextAlerting = next.alerting
        nextAlerting?.rules = current.alerting?.rules ?? [:]
        if nextAlerting != current.alerting { deferred.append("alerting") }
        current.endpoints = next.endpoints
        if current.alerting != nil { current.alerting?.rules = next.alerting?.rules ?? [:] }
        live.replace(with: current)
        engine.setEndpoints(next.endpoints)
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
