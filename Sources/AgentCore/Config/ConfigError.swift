/// A configuration mistake, located where a person fixes it: the file with line and column, or the
/// environment variable. Messages never contain a secret's value.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    /// The config file's path, or `environment` for the seed variables.
    public let source: String
    public let line: Int?
    public let column: Int?
    public let message: String

    public init(source: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.source = source
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        switch (line, column) {
        case let (line?, column?): return "\(source):\(line):\(column): \(message)"
        case let (line?, nil): return "\(source):\(line): \(message)"
        default: return "\(source): \(message)"
        }
    }
}
