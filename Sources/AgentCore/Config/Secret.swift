/// A credential read from the config, the environment or a mounted file.
///
/// Its description is fixed, so interpolating it into a log line, an error or a status page
/// prints `<redacted>`; code that must send the value spells out `exposedValue`, which keeps
/// every such place greppable.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let exposedValue: String

    public init(_ value: String) {
        self.exposedValue = value
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
