import DequeModule

/// The spool's databases and the typed operations on them. Callable from any thread: reads are
/// MVCC snapshots, and only the writer thread calls the writing operations.
///
/// - `results`: sequence → record (`SpoolEnvelope`)
/// - `cursors`: reader key → last handled sequence (results, or outbox for receivers)
/// - `states`: reader key → the reader's folded state
/// - `outbox`: sequence → alert event
/// - `meta`: next sequences and drop counters
struct SpoolStore: Sendable {
    let environment: LMDBEnvironment
    private let results: LMDBDatabase
    private let cursors: LMDBDatabase
    private let states: LMDBDatabase
    private let meta: LMDBDatabase
    private let outbox: LMDBDatabase

    init(path: String, mapSize: Int) throws(LMDBError) {
        environment = try LMDBEnvironment(path: path, mapSize: mapSize, maxDatabases: 8)
        results = try environment.database(named: "results")
        cursors = try environment.database(named: "cursors")
        states = try environment.database(named: "states")
        meta = try environment.database(named: "meta")
        outbox = try environment.database(named: "outbox")
    }

    // MARK: Reading

    /// The sequence the next result and the next outbox event will get.
    func nextSequences() throws(LMDBError) -> (results: UInt64, outbox: UInt64) {
        try environment.read { transaction throws(LMDBError) in
            (try number(Meta.nextSequence, in: transaction) ?? 1, try number(Meta.nextOutboxSequence, in: transaction) ?? 1)
        }
    }

    /// Up to `limit` results after `sequence`, oldest first; `unreadable` is told of records that
    /// cannot be decoded, which are skipped so one bad record never stalls a reader.
    func results(after sequence: UInt64, limit: Int, unreadable: (UInt64) -> Void) throws(LMDBError) -> [SpoolEntry<ProbeResult>] {
        var entries: [SpoolEntry<ProbeResult>] = []
        entries.reserveCapacity(min(limit, 4096))
        try environment.read { transaction throws(LMDBError) in
            try transaction.scan(results, from: ByteWriter.key(sequence &+ 1)) { entry in
                let decoded = try? SpoolEnvelope.open(entry) { (version, time, reader: inout ByteReader) throws(ByteReader.Malformed) in
                    try ProbeResult(payload: &reader, version: version, startedAt: time)
                }
                if let decoded {
                    entries.append(SpoolEntry(sequence: entry.sequence, value: decoded))
                } else {
                    unreadable(entry.sequence)
                }
                return entries.count < limit ? .next : .stop
            }
        }
        return entries
    }

    /// Up to `limit` outbox events after `sequence`, oldest first, as stored.
    func outboxEvents(after sequence: UInt64, limit: Int) throws(LMDBError) -> [SpoolEntry<[UInt8]>] {
        var events: [SpoolEntry<[UInt8]>] = []
        try environment.read { transaction throws(LMDBError) in
            try transaction.scan(outbox, from: ByteWriter.key(sequence &+ 1)) { entry in
                events.append(SpoolEntry(sequence: entry.sequence, value: entry.value))
                return events.count < limit ? .next : .stop
            }
        }
        return events
    }

    func position(of key: String) throws(LMDBError) -> (cursor: UInt64, state: [UInt8]?) {
        try environment.read { transaction throws(LMDBError) in
            (try cursor(key, in: transaction), try transaction.get(states, key: Array(key.utf8)))
        }
    }

    func dropped(in transaction: LMDBTransaction) throws(LMDBError) -> [String: UInt64] {
        var dropped: [String: UInt64] = [:]
        for reason in SpoolDropReason.allCases {
            if let count = try number(Meta.dropKey(reason), in: transaction) { dropped[reason.rawValue] = count }
        }
        return dropped
    }

    /// Sequence and start time of the oldest and newest result.
    func ends(in transaction: LMDBTransaction) throws(LMDBError) -> (first: (UInt64, Timestamp)?, last: (UInt64, Timestamp)?) {
        var first: (UInt64, Timestamp)?
        var last: (UInt64, Timestamp)?
        try transaction.scan(results) { entry in
            first = (entry.sequence, SpoolEnvelope.time(of: entry) ?? Timestamp(unixNanoseconds: 0))
            return .stop
        }
        try transaction.scan(results, reverse: true) { entry in
            last = (entry.sequence, SpoolEnvelope.time(of: entry) ?? Timestamp(unixNanoseconds: 0))
            return .stop
        }
        return (first, last)
    }

    /// The start time of the first result after `sequence`, if there is one.
    func timeOfFirstResult(after sequence: UInt64, in transaction: LMDBTransaction) throws(LMDBError) -> Timestamp? {
        var time: Timestamp?
        try transaction.scan(results, from: ByteWriter.key(sequence &+ 1)) { entry in
            time = SpoolEnvelope.time(of: entry)
            return .stop
        }
        return time
    }

    func cursor(_ key: String, in transaction: LMDBTransaction) throws(LMDBError) -> UInt64 {
        try transaction.get(cursors, key: Array(key.utf8)).map(ByteReader.key) ?? 0
    }

    func resultStatistics(in transaction: LMDBTransaction) -> (entries: Int, bytes: Int) {
        let (entries, pages) = transaction.statistics(results)
        return (entries, pages * environment.geometry.pageSize)
    }

    /// What retention needs to know: both ends, the space used, what every reader passed, and
    /// the newest record older than `cutoff` (found by bisection over the contiguous sequences).
    func retentionFacts(readerKeys: [String], cutoff: Timestamp) throws(LMDBError) -> SpoolRetention.Facts {
        let mapBytes = environment.geometry.mapSize
        return try environment.read { transaction throws(LMDBError) in
            let (first, last) = try ends(in: transaction)
            var passed = UInt64.max
            for key in readerKeys { passed = min(passed, try cursor(key, in: transaction)) }
            var expired: UInt64?
            if let (low, lowTime) = first, let (high, _) = last, lowTime < cutoff {
                var (lo, hi) = (low, high)  // invariant: time(lo) < cutoff
                while lo < hi {
                    let middle = lo + (hi - lo + 1) / 2
                    var time: Timestamp?
                    try transaction.scan(results, from: ByteWriter.key(middle)) { entry in
                        time = SpoolEnvelope.time(of: entry)
                        return .stop
                    }
                    if let time, time < cutoff { lo = middle } else { hi = middle - 1 }
                }
                expired = lo
            }
            return SpoolRetention.Facts(
                first: first?.0, last: last?.0, usedBytes: resultStatistics(in: transaction).bytes, mapBytes: mapBytes,
                passed: passed, expiredThrough: expired)
        }
    }

    /// Bytes the results' pages take.
    func usedBytes() throws(LMDBError) -> Int {
        try environment.read { transaction throws(LMDBError) in resultStatistics(in: transaction).bytes }
    }

    func cursors(of keys: [String]) throws(LMDBError) -> [UInt64] {
        try environment.read { transaction throws(LMDBError) in
            var values: [UInt64] = []
            for key in keys { values.append(try cursor(key, in: transaction)) }
            return values
        }
    }

    // MARK: Writing (the writer thread only)

    /// Writes results, reader commits and drop counts in one durable transaction; returns the
    /// next result sequence and, when outbox events were written, the next outbox sequence.
    func write(_ batch: SpoolWriteBatch, nextSequence: UInt64) throws(LMDBError) -> (next: UInt64, nextOutbox: UInt64?) {
        try environment.write { transaction throws(LMDBError) in
            var sequence = nextSequence
            for record in batch.records {
                try transaction.put(results, sequence: sequence, value: record, append: true)
                sequence += 1
            }
            var nextEvent = try number(Meta.nextOutboxSequence, in: transaction) ?? 1
            var outboxChanged = false
            for commit in batch.commits {
                let key = Array(commit.reader.utf8)
                try transaction.put(cursors, key: key, value: ByteWriter.key(commit.cursor))
                if let state = commit.state { try transaction.put(states, key: key, value: state) }
                for event in commit.outbox {
                    try transaction.put(outbox, sequence: nextEvent, value: event, append: true)
                    nextEvent += 1
                    outboxChanged = true
                }
            }
            if outboxChanged { try transaction.put(meta, key: Meta.nextOutboxSequence, value: ByteWriter.key(nextEvent)) }
            try addDrops(batch.drops, in: transaction)
            if sequence != nextSequence { try transaction.put(meta, key: Meta.nextSequence, value: ByteWriter.key(sequence)) }
            return (sequence, outboxChanged ? nextEvent : nil)
        }
    }

    /// Deletes the results up to `plan.deleteThrough` and counts the dropped ones under `reason`.
    func apply(_ plan: SpoolRetention.Plan, reason: SpoolDropReason) throws(LMDBError) -> Int {
        try environment.write { transaction throws(LMDBError) in
            var deleted = 0
            try transaction.scan(results) { entry in
                guard entry.sequence <= plan.deleteThrough else { return .stop }
                deleted += 1
                return .delete
            }
            try addDrops(plan.dropped > 0 ? [reason: plan.dropped] : [:], in: transaction)
            return deleted
        }
    }

    func trimOutbox(through sequence: UInt64) throws(LMDBError) {
        try environment.write { transaction throws(LMDBError) in
            try transaction.scan(outbox) { entry in entry.sequence <= sequence ? .delete : .stop }
        }
    }

    func droppedCounts() throws(LMDBError) -> [String: UInt64] {
        try environment.read { transaction throws(LMDBError) in try dropped(in: transaction) }
    }

    private func addDrops(_ drops: [SpoolDropReason: UInt64], in transaction: LMDBTransaction) throws(LMDBError) {
        for (reason, count) in drops where count > 0 {
            let key = Meta.dropKey(reason)
            try transaction.put(meta, key: key, value: ByteWriter.key((try number(key, in: transaction) ?? 0) + count))
        }
    }

    private func number(_ key: [UInt8], in transaction: LMDBTransaction) throws(LMDBError) -> UInt64? {
        try transaction.get(meta, key: key).map(ByteReader.key)
    }
}

/// Keys of the `meta` database.
private enum Meta {
    static let nextSequence = Array("next_sequence".utf8)
    static let nextOutboxSequence = Array("next_outbox_sequence".utf8)
    static func dropKey(_ reason: SpoolDropReason) -> [UInt8] { Array("dropped.\(reason.rawValue)".utf8) }
}

/// What one group commit writes.
struct SpoolWriteBatch: Sendable {
    var records = Deque<[UInt8]>()
    var commits: [SpoolCommitRecord] = []
    var drops: [SpoolDropReason: UInt64] = [:]

    var isEmpty: Bool { records.isEmpty && commits.isEmpty && drops.values.allSatisfy { $0 == 0 } }
}

/// A reader's cursor and state, and the outbox events written with them.
struct SpoolCommitRecord: Sendable {
    var reader: String
    var cursor: UInt64
    var state: [UInt8]?
    var outbox: [[UInt8]]
}

/// Why records were lost before every reader had them.
public enum SpoolDropReason: String, Sendable, CaseIterable, Hashable {
    /// The spool reached `spool.max_size`: the oldest went first.
    case full
    /// Results arrived faster than the disk took them and the in-memory queue overflowed.
    case backpressure
    /// Writes failed (full or failing filesystem) for longer than the in-memory queue could hold.
    case writeError = "write_error"
}

/// One stored record and its position in the spool.
public struct SpoolEntry<Value: Sendable>: Sendable {
    public var sequence: UInt64
    public var value: Value

    public init(sequence: UInt64, value: Value) {
        self.sequence = sequence
        self.value = value
    }
}

extension SpoolEntry: Equatable where Value: Equatable {}
