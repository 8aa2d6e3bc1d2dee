import ServiceLifecycle
import UnixSignals

/// Reloads the configuration on every SIGHUP, the way Prometheus and blackbox_exporter do.
struct ReloadService: Service, CustomStringConvertible {
    let reload: @Sendable () async -> Result<String, ConfigError>
    var description: String { "ReloadService" }

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            _ = await reload()
        }
    }
}
