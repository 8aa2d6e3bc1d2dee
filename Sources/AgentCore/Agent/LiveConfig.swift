import Synchronization

/// The configuration in force, replaced by a successful reload. Components that must follow a
/// reload (the endpoints the status page lists, the series the Pushgateway keeps, the secrets to
/// scrub) read it here.
public final class LiveConfig: Sendable {
    private let current: Mutex<Configuration>

    public init(_ configuration: Configuration) {
        self.current = Mutex(configuration)
    }

    public var configuration: Configuration { current.withLock { $0 } }

    func replace(with configuration: Configuration) {
        current.withLock { $0 = configuration }
    }
}
