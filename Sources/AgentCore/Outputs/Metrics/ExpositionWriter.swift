import Foundation

/// Renders metric families in the Prometheus text exposition format 0.0.4: `# HELP` and
/// `# TYPE` for every family, escaped label values, every line ending in `\n`, no timestamps
/// (the Pushgateway rejects them). The one writer for pushes and `/metrics`.
public enum ExpositionWriter {
    /// The body as UTF-8 bytes, written straight into one buffer.
    public static func render(_ families: [MetricFamily]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(families.reduce(0) { $0 + $1.samples.count } * 64)
        for family in families where !family.samples.isEmpty {
            append("# HELP \(family.name) \(escapeHelp(family.help))\n# TYPE \(family.name) \(family.kind.rawValue)\n", to: &out)
            for sample in family.samples {
                append(family.name, to: &out)
                append(sample.suffix, to: &out)
                if !sample.labels.isEmpty {
                    out.append(UInt8(ascii: "{"))
                    for (index, label) in sample.labels.enumerated() {
                        if index > 0 { out.append(UInt8(ascii: ",")) }
                        append(label.name, to: &out)
                        out.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "\"")])
                        appendEscaped(label.value, to: &out)
                        out.append(UInt8(ascii: "\""))
                    }
                    out.append(UInt8(ascii: "}"))
                }
                out.append(UInt8(ascii: " "))
                append(sample.value, to: &out)
                out.append(UInt8(ascii: "\n"))
            }
        }
        return out
    }

    public static func renderText(_ families: [MetricFamily]) -> String {
        String(decoding: render(families), as: UTF8.self)
    }

    private static func append(_ text: String, to out: inout [UInt8]) {
        out.append(contentsOf: text.utf8)
    }

    /// Label values escape backslash, double quote and line feed.
    private static func appendEscaped(_ value: String, to out: inout [UInt8]) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            default: out.append(byte)
            }
        }
    }

    static func escapeHelp(_ help: String) -> String {
        help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// A float the way Prometheus prints it: shortest form, `+Inf`, `-Inf`, `NaN`.
    public static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
