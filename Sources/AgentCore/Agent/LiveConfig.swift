import Synchronization

/// The configuration in force, replaced by a successful reload. Components that must follow a
/// reload (the endpoints the status page lists, the series the Pushgateway keeps) read it here.
public final class LiveConfig: Sendable {
    private let current: Mutex<AgentConfig>

    public init(_ config: AgentConfig) {
        self.current = Mutex(config)
    }

    public var config: AgentConfig { current.withLock { $0 } }

    func replace(with config: AgentConfig) {
        current.withLock { $0 = config }
    }
}
