import Logging

/// A swift-log handler writing one JSON object per line: time, level, message, label, then
/// metadata. One `write(2)` per line keeps lines whole when several threads log at once.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let fileDescriptor: Int32

    public init(label: String, fileDescriptor: Int32) {
        self.label = label
        self.fileDescriptor = fileDescriptor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = JSONLine()
        line.add("time", Timestamp.now.rfc3339)
        line.add("level", event.level.rawValue)
        line.add("msg", event.message.description)
        line.add("logger", label)
        line.add("error", event.error.map { "\($0)" })
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for key in merged.keys.sorted() {
            line.add(key, merged[key]!.description)
        }
        LineWriter.write(bytes: line.lineBytes + [UInt8(ascii: "\n")], to: fileDescriptor)
    }
}
