/// Which records the spool deletes, and which of those count as lost. Pure: the writer gathers
/// the facts, asks, and carries out the plan, so every rule is tested with numbers alone.
///
/// Records are kept while any reader still needs them and for `spool.retain` after that (the
/// history `/status` and the alert windows are rebuilt from). Size is the other limit: once the
/// results fill 75 % of the map, the oldest go until 60 % is left, keeping headroom for LMDB's
/// copy-on-write pages; a commit that still finds the map full halves it. Records deleted for
/// size before every reader had them are counted as dropped (`full`).
public enum SpoolRetention {
    /// What the spool knows when it plans.
    public struct Facts: Sendable, Equatable {
        /// Sequence of the oldest and newest stored result; nil when empty. Sequences are
        /// contiguous between them: deletion only ever takes the oldest.
        public var first: UInt64?
        public var last: UInt64?
        /// Bytes the results' pages take, and the map's size.
        public var usedBytes: Int
        public var mapBytes: Int
        /// The position every reader has passed (the smallest cursor); everything with no readers.
        public var passed: UInt64
        /// The newest stored result older than `spool.retain`, if any.
        public var expiredThrough: UInt64?

        public init(first: UInt64?, last: UInt64?, usedBytes: Int, mapBytes: Int, passed: UInt64, expiredThrough: UInt64?) {
            self.first = first
            self.last = last
            self.usedBytes = usedBytes
            self.mapBytes = mapBytes
            self.passed = passed
            self.expiredThrough = expiredThrough
        }

        var count: UInt64 { guard let first, let last, last >= first else { return 0 }; return last - first + 1 }
    }

    /// Delete every result up to `deleteThrough`; `dropped` of them had not reached every reader.
    public struct Plan: Sendable, Equatable {
        public var deleteThrough: UInt64
        public var dropped: UInt64
    }

    /// At most this many records go per routine pass, so the writer is never held up for long.
    public static let maxExpiredPerPass: UInt64 = 50_000
    public static let softLimit = 0.75
    public static let softTarget = 0.6
    public static let fullTarget = 0.5

    /// Whether the results are past the soft limit, where size trimming starts.
    public static func nearSoftLimit(usedBytes: Int, mapBytes: Int) -> Bool {
        Double(usedBytes) > Double(mapBytes) * softLimit
    }

    /// The routine pass after a commit and once a second: expired records, and the soft size limit.
    public static func routine(_ facts: Facts) -> Plan? {
        guard let first = facts.first, facts.count > 0 else { return nil }
        var through: UInt64?
        if let expired = facts.expiredThrough, expired >= first {
            let limit = first + maxExpiredPerPass - 1
            let candidate = min(expired, facts.passed, limit)
            if candidate >= first { through = candidate }
        }
        if nearSoftLimit(usedBytes: facts.usedBytes, mapBytes: facts.mapBytes), let shrink = shrink(facts, to: softTarget) {
            through = max(through ?? 0, shrink)
        }
        return through.map { plan(facts, deleteThrough: $0) }
    }

    /// After a commit failed because the map was full: make room for about half of it.
    public static func mapFull(_ facts: Facts) -> Plan? {
        shrink(facts, to: fullTarget).map { plan(facts, deleteThrough: $0) }
    }

    /// How far to delete so the results use about `fraction` of the map: at least a tenth of
    /// them, so a nearly-full map always gains real room.
    static func shrink(_ facts: Facts, to fraction: Double) -> UInt64? {
        guard let first = facts.first, facts.count > 0 else { return nil }
        let bytesPerRecord = max(1, Double(facts.usedBytes) / Double(facts.count))
        let keep = UInt64(max(0, Double(facts.mapBytes) * fraction / bytesPerRecord))
        let delete = max(facts.count / 10, facts.count > keep ? facts.count - keep : 0, 1)
        return first + min(delete, facts.count) - 1
    }

    static func plan(_ facts: Facts, deleteThrough: UInt64) -> Plan {
        let oldestUnread = facts.passed &+ 1
        let dropped = deleteThrough >= oldestUnread && facts.passed != .max
            ? deleteThrough - max(oldestUnread, facts.first ?? oldestUnread) + 1 : 0
        return Plan(deleteThrough: deleteThrough, dropped: dropped)
    }

    /// Outbox events every receiver has delivered go; with no receivers, none are kept.
    public static func outboxDeleteThrough(receiverCursors: [UInt64]) -> UInt64 {
        receiverCursors.min() ?? .max
    }
}
