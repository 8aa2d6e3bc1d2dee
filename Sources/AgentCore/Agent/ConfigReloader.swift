import Logging

/// The one place endpoints change in a running agent: a re-read configuration, and each
/// discovery source's latest endpoints, merged. Calls that arrive while a reload runs
/// share one more reload after it (so every caller sees a reading made after it asked), and a
/// reread that changes nothing is logged at debug level only: a burst of SIGHUPs or
/// `POST /-/reload` calls costs a couple of file reads and no log lines, not one per call.
actor ConfigReloader {
    private let load: (@Sendable () throws(ConfigError) -> Configuration)?
    private let live: LiveConfig
    private let engine: ProbeEngine
    private let logger: Logger
    private var running: Task<Result<String, ConfigError>, Never>?
    private var queued: Task<Result<String, ConfigError>, Never>?
    /// The `endpoints` of the file, as last read.
    private var written: [EndpointConfig]
    /// What each discovery source gives now, by source, in the configuration's order.
    private var discovered: [(source: String, endpoints: [EndpointConfig])]

    init(load: (@Sendable () throws(ConfigError) -> Configuration)?, live: LiveConfig, engine: ProbeEngine, logger: Logger) {
        self.load = load
        self.live = live
        self.engine = engine
        self.logger = logger
        let configuration = live.configuration
        written = configuration.endpoints
        discovered = configuration.discovery.sources.map { ($0.name, []) }
    }

    /// A discovery source's endpoints now. Returns why some of them are not probed (a name the
    /// file or an earlier source already uses, the agent's endpoint limit).
    func setDiscovered(_ endpoints: [EndpointConfig], from source: String) -> [String] {
        guard let index = discovered.firstIndex(where: { $0.source == source }) else { return [] }
        discovered[index].endpoints = endpoints
        var current = live.configuration
        let (merged, problems) = merge()
        current.endpoints = merged
        install(current)
        return problems[source] ?? []
    }

    /// The file's endpoints, then each source's in order; a name already taken is skipped.
    private func merge() -> (endpoints: [EndpointConfig], problems: [String: [String]]) {
        var endpoints = written
        var taken = Dictionary(written.map { ($0.name, "the configuration file") }, uniquingKeysWith: { first, _ in first })
        var problems: [String: [String]] = [:]
        for (source, list) in discovered {
            var overLimit = 0
            for endpoint in list {
                if let owner = taken[endpoint.name] {
                    problems[source, default: []].append("endpoint \"\(endpoint.name)\" is skipped: \(owner) already has an endpoint of that name")
                } else if endpoints.count >= Configuration.maxEndpoints {
                    overLimit += 1
                } else {
                    taken[endpoint.name] = "source \"\(source)\""
                    endpoints.append(endpoint)
                }
            }
            if overLimit > 0 {
                problems[source, default: []].append(
                    "\(overLimit) endpoints are skipped: the agent probes at most \(Configuration.maxEndpoints); split the targets over several agents")
            }
        }
        return (endpoints, problems)
    }

    private func install(_ configuration: Configuration) {
        live.replace(with: configuration)
        engine.setEndpoints(configuration.endpoints, scrubber: configuration.scrubber)
    }

    /// Re-reads the configuration. A valid one replaces the endpoints at once (unchanged ones keep
    /// their rhythm, spooled data is untouched); an invalid one is logged and the running one kept.
    /// Other sections take effect at the next start, and the log says so.
    func reload() async -> Result<String, ConfigError> {
        if let queued { return await queued.value }
        if let running {
            let next = Task { [self] in
                _ = await running.value
                return await runQueued()
            }
            queued = next
            return await next.value
        }
        return await run()
    }

    private func run() async -> Result<String, ConfigError> {
        let task = Task { [self] in apply() }
        running = task
        let outcome = await task.value
        running = nil
        return outcome
    }

    private func runQueued() async -> Result<String, ConfigError> {
        queued = nil
        return await run()
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
        let before = Dictionary(uniqueKeysWithValues: written.map { ($0.name, $0) })
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
        if next.discovery != current.discovery { deferred.append("discovery") }
        written = next.endpoints
        current.endpoints = merge().endpoints
        current.sourceFiles = next.sourceFiles
        install(current)
        let summary = "reloaded: \(next.endpoints.count) endpoints (\(added) added, \(removed) removed, \(changed) changed)"
        let metadata: Logger.Metadata = [
            "endpoints": "\(next.endpoints.count)", "added": "\(added)", "removed": "\(removed)", "changed": "\(changed)",
        ]
        if added + removed + changed == 0 && deferred.isEmpty {
            logger.debug("configuration reread; nothing changed", metadata: metadata)
        } else {
            logger.notice("configuration reloaded", metadata: metadata)
        }
        if !deferred.isEmpty {
            logger.warning("these sections changed and take effect at the next start", metadata: ["sections": "\(deferred.joined(separator: ","))"])
        }
        return .success(summary + (deferred.isEmpty ? "" : "; restart to apply changes to \(deferred.joined(separator: ", "))"))
    }
}
