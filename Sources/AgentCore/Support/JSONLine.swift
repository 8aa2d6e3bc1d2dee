/// Builds one JSON object as a single line of UTF-8 bytes, fields in the order they are added.
///
/// Hand-written rather than `JSONEncoder`: field order stays stable for people reading logs and
/// for Loki's duplicate detection, and writing bytes (not appending to a String character by
/// character) keeps it cheap at tens of thousands of lines a second.
public struct JSONLine {
    public private(set) var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var empty = true

    public init() {
        bytes.reserveCapacity(256)
    }

    public mutating func add(_ key: String, _ value: String?) {
        guard let value else { return }
        appendKey(key)
        Self.appendQuoted(value, to: &bytes)
    }

    public mutating func add(_ key: String, _ value: Int64?) {
        guard let value else { return }
        appendKey(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func add(_ key: String, _ value: Int?) {
        add(key, value.map(Int64.init))
    }

    public mutating func add(_ key: String, _ value: Bool) {
        appendKey(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// A duration written as seconds with six decimals, exactly and without floating point.
    public mutating func add(_ key: String, seconds value: Duration?) {
        guard let value else { return }
        appendKey(key)
        bytes.append(contentsOf: value.secondsText.utf8)
    }

    public mutating func add(_ key: String, _ value: Double?) {
        guard let value, value.isFinite else { return }
        appendKey(key)
        bytes.append(contentsOf: ExpositionWriter.number(value).utf8)
    }

    /// A nested object, written in place.
    public mutating func add(_ key: String, object: JSONLine) {
        appendKey(key)
        bytes.append(contentsOf: object.bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    /// The finished object's bytes, without a trailing newline.
    public var lineBytes: [UInt8] { bytes + [UInt8(ascii: "}")] }

    /// The finished object, without a trailing newline.
    public var line: String { String(decoding: lineBytes, as: UTF8.self) }

    private mutating func appendKey(_ key: String) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        Self.appendQuoted(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    public static func appendQuoted(_ value: String, to text: inout String) {
        var bytes: [UInt8] = []
        appendQuoted(value, to: &bytes)
        text += String(decoding: bytes, as: UTF8.self)
    }

    /// `value` as a JSON string: quotes, backslashes and control characters escaped; everything
    /// else, UTF-8 included, copied as it is.
    public static func appendQuoted(_ value: String, to bytes: inout [UInt8]) {
        var value = value
        value.withUTF8 { appendQuoted(utf8: $0, to: &bytes) }
    }

    public static func appendQuoted(utf8 value: some Collection<UInt8>, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        // Runs of plain bytes are copied whole; only the bytes that need escaping are written one by one.
        var runStart = value.startIndex
        var index = value.startIndex
        while index != value.endIndex {
            let byte = value[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                bytes.append(contentsOf: value[runStart..<index])
                appendEscape(byte, to: &bytes)
                runStart = value.index(after: index)
            }
            index = value.index(after: index)
        }
        bytes.append(contentsOf: value[runStart..<value.endIndex])
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func appendEscape(_ byte: UInt8, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
        case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "n"))
        case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "r"))
        case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "t"))
        default:
            bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xf)]])
        }
    }
}
