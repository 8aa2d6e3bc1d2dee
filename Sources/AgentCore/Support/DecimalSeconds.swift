/// Microseconds as a decimal number of seconds (`1.234567`), exact and without floating point,
/// so the same value always renders the same text — in JSON lines and in metric bodies.
public enum DecimalSeconds {
    public static func text(microseconds value: Int64) -> String {
        let sign = value < 0 ? "-" : ""
        let magnitude = value.magnitude
        let fraction = String(magnitude % 1_000_000)
        return "\(sign)\(magnitude / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)"
    }
}
