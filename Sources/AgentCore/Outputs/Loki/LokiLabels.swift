/// Loki's rules for stream labels, checked when the config is loaded.
enum LokiLabels {
    /// Set by the agent on every stream.
    static let reserved = ["job", "instance", "endpoint"]

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`, at most 1024 bytes.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= 1024, !name.hasPrefix("__") else { return false }
        func letter(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" }
        return letter(first) && name.unicodeScalars.allSatisfy { letter($0) || ($0 >= "0" && $0 <= "9") }
    }
}
