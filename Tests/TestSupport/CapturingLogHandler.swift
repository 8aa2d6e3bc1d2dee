import Logging
import NIOConcurrencyHelpers

/// Keeps every log line (message, metadata, error) as text, so tests can search what was logged.
public struct CapturingLogHandler: LogHandler {
    public let lines: NIOLockedValueBox<[String]>
    public var logLevel: Logger.Level = .trace
    public var metadata: Logger.Metadata = [:]

    public init(lines: NIOLockedValueBox<[String]> = .init([])) {
        self.lines = lines
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let line = "\(event.level) \(event.message) \(merged) \(event.error.map { "\($0)" } ?? "")"
        lines.withLockedValue { $0.append(line) }
    }
}
