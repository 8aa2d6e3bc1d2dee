import Foundation

/// Parsers for the human units every duration and size in the config is written in.
///
/// Durations follow Prometheus/Go notation (`250ms`, `30s`, `1m30s`, `1.5h`); a bare number is
/// seconds, which keeps the seed's `POLL_INTERVAL=60` valid. Sizes take binary (`KiB`, `MiB`,
/// `GiB`) and decimal (`KB`, `MB`, `GB`) suffixes; a bare number is bytes.
public enum HumanUnits {
    /// Parses `text` as a duration; nil when it is not one.
    public static func duration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [
            ("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400),
        ]
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        if let seconds = Double(trimmed), seconds.isFinite, seconds >= 0 {
            return .nanoseconds(Int64((seconds * 1e9).rounded()))
        }
        var rest = Substring(trimmed)
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { !($0.isNumber || $0 == ".") }
            guard let unit = units.first(where: { $0.0 == unitText }) else { return nil }
            rest = rest.dropFirst(unitText.count)
            total += value * unit.1
        }
        guard total.isFinite, total < 1e9 else { return nil }
        return .nanoseconds(Int64((total * 1e9).rounded()))
    }

    /// Parses `text` as a byte size; nil when it is not one.
    public static func byteSize(_ text: String) -> Int? {
        let suffixes: [(String, Double)] = [
            ("KiB", 1024), ("MiB", 1024 * 1024), ("GiB", 1024 * 1024 * 1024), ("TiB", 1024 * 1024 * 1024 * 1024),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1),
        ]
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (suffix, factor) in suffixes where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            guard let value = Double(number), value >= 0, value * factor < 9e18 else { return nil }
            return Int((value * factor).rounded())
        }
        return Int(trimmed).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Formats a duration the way the config accepts it back, for messages.
    public static func format(_ duration: Duration) -> String {
        let nanos = duration.inNanoseconds
        if nanos % 1_000_000_000 == 0 { return "\(nanos / 1_000_000_000)s" }
        if nanos % 1_000_000 == 0 { return "\(nanos / 1_000_000)ms" }
        return "\(Double(nanos) / 1e9)s"
    }
}
