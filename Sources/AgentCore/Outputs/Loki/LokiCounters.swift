/// What the Loki reader has done, saved with its cursor so the counts survive restarts:
/// `latency_agent_loki_*` metrics and the status page read them.
public struct LokiCounters: Sendable, Equatable {
    public var sentLines: UInt64 = 0
    /// Lines Loki refused with a status a retry cannot fix, by status code.
    public var rejectedLines: [String: UInt64] = [:]
    /// Lines older than Loki accepts, left out before sending.
    public var droppedTooOld: UInt64 = 0

    public init() {}

    func encoded() -> [UInt8] {
        var writer = ByteWriter()
        writer.byte(1)
        writer.unsigned(sentLines)
        writer.unsigned(droppedTooOld)
        writer.unsigned(UInt64(rejectedLines.count))
        for reason in rejectedLines.keys.sorted() {
            writer.string(reason)
            writer.unsigned(rejectedLines[reason]!)
        }
        return writer.bytes
    }

    init?(decoding bytes: [UInt8]) {
        let decoded = bytes.withUnsafeBytes { raw -> LokiCounters? in
            var reader = ByteReader(raw)
            do throws(ByteReader.Malformed) {
                guard try reader.byte() == 1 else { return nil }
                var counters = LokiCounters()
                counters.sentLines = try reader.unsigned()
                counters.droppedTooOld = try reader.unsigned()
                let count = try reader.unsigned()
                for _ in 0..<count { counters.rejectedLines[try reader.string()] = try reader.unsigned() }
                return reader.isAtEnd ? counters : nil
            } catch {
                return nil
            }
        }
        guard let decoded else { return nil }
        self = decoded
    }
}
