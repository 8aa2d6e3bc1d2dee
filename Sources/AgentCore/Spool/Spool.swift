import Dispatch
import Foundation
import Logging
import Synchronization

/// The durable local spool every probe result is written to before any output sees it
/// (DESIGN invariant 1). Outputs are readers: each keeps its own cursor, and its folded state,
/// committed together in one transaction.
///
/// All writes go through one dedicated thread that batches whatever is pending into a single
/// transaction (group commit), so a durable commit (two fsyncs, ~6 ms here) is paid per batch,
/// never per record, and never on Swift's cooperative pool. Reads use LMDB's MVCC snapshots from
/// any thread and never wait for the writer.
public final class Spool: Sendable {
    public let path: String
    /// The readers whose cursors hold records back from deletion.
    public let readers: [String]
    /// The readers of the outbox (alert receivers), whose cursors hold events back.
    public let outboxReaders: [String]
    private let environment: LMDBEnvironment
    private let databases: Databases
    private let retain: Duration
    private let logger: Logger
    private let queue: Mutex<WriteQueue>
    private let wakeWriter = DispatchSemaphore(value: 0)
    private let lastSequenceValue: Atomic<UInt64>
    /// When the writer thread last went round its loop (at least once a second).
    private let writerHeartbeat = Atomic<UInt64>(MonotonicClock.now())
    /// The last write's failure, until a write succeeds again; `/health` reports it.
    private let lastWriteFailure = Mutex<String?>(nil)

    struct Databases: Sendable {
        let results: LMDBDatabase
        let cursors: LMDBDatabase
        let states: LMDBDatabase
        let meta: LMDBDatabase
        /// Alert events, by their own sequence: written by the evaluator, read by each receiver.
        let outbox: LMDBDatabase
    }

    /// More results than this waiting for the writer means the disk cannot keep up: the oldest
    /// waiting ones are dropped (counted) rather than growing memory without bound.
    static let maxPending = 100_000
    /// When only results wait, the writer lingers this long for more before committing: at
    /// 100 results a second that is five per commit instead of one, a fifth of the fsyncs.
    /// A reader's commit or a flush ends the wait at once.
    static let appendLinger = DispatchTimeInterval.milliseconds(50)

    public enum SpoolError: Error, CustomStringConvertible {
        case closed
        case storage(LMDBError)

        public var description: String {
            switch self {
            case .closed: return "the spool is closed"
            case .storage(let error): return "spool storage error: \(error)"
            }
        }
    }

    public init(settings: SpoolSettings, readers: [String], outboxReaders: [String] = [], logger: Logger) throws(LMDBError) {
        self.path = settings.path
        self.readers = readers
        self.outboxReaders = outboxReaders
        self.retain = settings.retain
        self.logger = logger
        self.environment = try LMDBEnvironment(path: settings.path, mapSize: settings.maxSize, maxDatabases: 8)
        self.databases = Databases(
            results: try environment.database(named: "results"), cursors: try environment.database(named: "cursors"),
            states: try environment.database(named: "states"), meta: try environment.database(named: "meta"),
            outbox: try environment.database(named: "outbox"))
        let databases = databases
        let next = try environment.read { transaction throws(LMDBError) in
            try transaction.get(databases.meta, key: Meta.nextSequence).map(Meta.number) ?? 1
        }
        self.lastSequenceValue = Atomic(next - 1)
        self.queue = Mutex(WriteQueue(nextSequence: next))
        let thread = Thread { [self] in writerLoop() }
        thread.name = "latency-agent-spool"
        thread.start()
    }

    // MARK: Writing

    /// Queues a result for the next group commit. Never blocks: callable from the probe thread.
    public func append(_ result: ProbeResult) {
        // Only the first item of a batch wakes the writer; it takes whatever has queued by then.
        let wake = queue.withLock { queue in
            guard !queue.closing else { return false }
            let wasEmpty = queue.appends.isEmpty && queue.jobs.isEmpty
            queue.appends.append(result)
            if queue.appends.count > Self.maxPending {
                queue.appends.removeFirst(queue.appends.count - Self.maxPending)
                queue.pendingDrops["backpressure", default: 0] += 1
            }
            return wasEmpty
        }
        if wake { wakeWriter.signal() }
    }

    /// Waits until everything appended so far is durable.
    public func flush() async throws(SpoolError) {
        try await enqueue(.flush)
    }

    /// Commits a reader's new cursor and state in one transaction, after its output accepted the
    /// data: the only way a cursor moves. `outbox` events are appended in the same transaction, so
    /// an alert transition is written exactly when the evaluator's cursor passes its cause.
    public func commit(reader: String, cursor: UInt64, state: [UInt8]?, outbox: [[UInt8]] = []) async throws(SpoolError) {
        try await enqueue(.commitReader(name: reader, cursor: cursor, state: state, outbox: outbox))
    }

    /// Up to `limit` outbox events after `sequence`, oldest first.
    public func outbox(after sequence: UInt64, limit: Int) throws(LMDBError) -> [(sequence: UInt64, event: [UInt8])] {
        var events: [(UInt64, [UInt8])] = []
        let databases = databases
        try environment.read { transaction throws(LMDBError) in
            try transaction.scan(databases.outbox, from: ByteWriter.key(sequence &+ 1)) { key, value in
                events.append((ByteReader.key(key), Array(value)))
                return events.count < limit ? .next : .stop
            }
        }
        return events
    }

    /// Stops the writer after it has written everything queued.
    public func close() async {
        try? await enqueue(.close)
    }

    private func enqueue(_ job: Job) async throws(SpoolError) {
        let result: Result<Void, SpoolError> = await withCheckedContinuation { continuation in
            let accepted = queue.withLock { queue in
                guard !queue.closing else { return false }
                queue.jobs.append((job, continuation))
                if case .close = job { queue.closing = true }
                return true
            }
            // Jobs always wake the writer: a waiting caller must never depend on another's signal.
            if accepted { wakeWriter.signal() } else { continuation.resume(returning: .failure(.closed)) }
        }
        try result.get()
    }

    /// Why the spool cannot take results now, or nil when it can: its writer is stalled or its
    /// last write failed.
    public func unwritableReason(now: UInt64 = MonotonicClock.now(), stallAfter: UInt64 = 10_000_000_000) -> String? {
        if let failure = lastWriteFailure.withLock({ $0 }) { return "spool write failed: \(failure)" }
        let beat = writerHeartbeat.load(ordering: .relaxed)
        if now > beat, now - beat > stallAfter { return "spool writer has not run for \((now - beat) / 1_000_000_000) s" }
        return nil
    }

    // MARK: Reading

    /// The sequence number of the newest durable record (0 before the first).
    public var lastSequence: UInt64 { lastSequenceValue.load(ordering: .acquiring) }

    /// Up to `limit` records after `sequence`, oldest first. Records that cannot be decoded are
    /// skipped and logged, so one bad record can never stall a reader.
    public func records(after sequence: UInt64, limit: Int) throws(LMDBError) -> [SpoolRecord] {
        var records: [SpoolRecord] = []
        let logger = logger
        try environment.read { transaction throws(LMDBError) in
            try transaction.scan(databases.results, from: ByteWriter.key(sequence &+ 1)) { key, value in
                let sequence = ByteReader.key(key)
                if let result = try? ProbeResult(decoding: value) {
                    records.append(SpoolRecord(sequence: sequence, result: result))
                } else {
                    logger.error("skipping an unreadable spool record", metadata: ["sequence": "\(sequence)"])
                }
                return records.count < limit ? .next : .stop
            }
        }
        return records
    }

    /// A reader's committed cursor (0 when it never committed) and state.
    public func position(of reader: String) throws(LMDBError) -> (cursor: UInt64, state: [UInt8]?) {
        let databases = databases
        return try environment.read { transaction throws(LMDBError) in
            let key = Array(reader.utf8)
            return (
                try transaction.get(databases.cursors, key: key).map(Meta.number) ?? 0,
                try transaction.get(databases.states, key: key)
            )
        }
    }

    public func statistics(now: Int64 = WallClock.now()) throws(LMDBError) -> SpoolStatistics {
        let databases = databases
        let readers = readers
        let (mapSize, pageSize) = environment.geometry
        return try environment.read { transaction throws(LMDBError) in
            let (entries, pages) = transaction.statistics(databases.results)
            var oldest: (UInt64, Int64)?
            var newest: (UInt64, Int64)?
            try transaction.scan(databases.results) { key, value in
                oldest = (ByteReader.key(key), ProbeResult.startTime(of: value) ?? 0)
                return .stop
            }
            try transaction.scan(databases.results, reverse: true) { key, value in
                newest = (ByteReader.key(key), ProbeResult.startTime(of: value) ?? 0)
                return .stop
            }
            let dropped = try droppedCounts(in: transaction)
            let last = newest?.0 ?? lastSequence
            var lags: [SpoolStatistics.ReaderLag] = []
            for reader in readers {
                let cursor = try transaction.get(databases.cursors, key: Array(reader.utf8)).map(Meta.number) ?? 0
                var seconds = 0.0
                if cursor < last {
                    try transaction.scan(databases.results, from: ByteWriter.key(cursor + 1)) { _, value in
                        seconds = max(0, Double(now - (ProbeResult.startTime(of: value) ?? now)) / 1e9)
                        return .stop
                    }
                }
                lags.append(.init(name: reader, cursor: cursor, records: last > cursor ? last - cursor : 0, seconds: seconds))
            }
            return SpoolStatistics(
                records: entries, bytes: pages * pageSize, maxBytes: mapSize, oldest: oldest, newest: newest,
                dropped: dropped, readers: lags)
        }
    }

    private func droppedCounts(in transaction: LMDBTransaction) throws(LMDBError) -> [String: UInt64] {
        var dropped: [String: UInt64] = [:]
        for reason in Self.dropReasons {
            if let count = try transaction.get(databases.meta, key: Meta.dropKey(reason)).map(Meta.number) {
                dropped[reason] = count
            }
        }
        return dropped
    }

    /// Why records can be lost: the disk cap, a writer that could not keep up, a failed write.
    public static let dropReasons = ["full", "backpressure", "write_error"]

    // MARK: The writer thread

    private enum Job {
        case flush
        case close
        case commitReader(name: String, cursor: UInt64, state: [UInt8]?, outbox: [[UInt8]])
    }

    private struct WriteQueue {
        var nextSequence: UInt64
        var appends: [ProbeResult] = []
        var jobs: [(Job, CheckedContinuation<Result<Void, SpoolError>, Never>)] = []
        var pendingDrops: [String: UInt64] = [:]
        var closing = false
        var exited = false
    }

    private func writerLoop() {
        var lastTrim = MonotonicClock.now()
        while true {
            writerHeartbeat.store(MonotonicClock.now(), ordering: .relaxed)
            _ = wakeWriter.wait(timeout: .now() + .seconds(1))
            let onlyResults = queue.withLock { !$0.appends.isEmpty && $0.jobs.isEmpty && $0.appends.count < 1000 }
            if onlyResults { _ = wakeWriter.wait(timeout: .now() + Self.appendLinger) }
            let (appends, jobs, drops, nextSequence) = queue.withLock { queue in
                defer {
                    queue.appends.removeAll(keepingCapacity: true)
                    queue.jobs.removeAll()
                    queue.pendingDrops.removeAll()
                }
                return (queue.appends, queue.jobs, queue.pendingDrops, queue.nextSequence)
            }
            if !appends.isEmpty || !jobs.isEmpty || !drops.isEmpty {
                let outcome = writeBatch(appends, commits: jobs.map(\.0), drops: drops, nextSequence: nextSequence)
                switch outcome {
                case .success(let next):
                    queue.withLock { $0.nextSequence = next }
                    lastSequenceValue.store(next - 1, ordering: .releasing)
                    lastWriteFailure.withLock { $0 = nil }
                case .failure(let error):
                    lastWriteFailure.withLock { $0 = "\(error)" }
                }
                let reply: Result<Void, SpoolError> = outcome.map { _ in () }
                for (_, continuation) in jobs { continuation.resume(returning: reply) }
                if jobs.contains(where: { if case .close = $0.0 { return true } else { return false } }) { break }
            }
            if MonotonicClock.now() - lastTrim >= 1_000_000_000 {
                lastTrim = MonotonicClock.now()
                trimExpired()
            }
        }
        queue.withLock { $0.exited = true }
    }

    /// One group commit. On a full map it makes room by dropping the oldest records and tries
    /// again; if that cannot help, the new results are dropped and counted — the agent never stops.
    private func writeBatch(
        _ appends: [ProbeResult], commits: [Job], drops: [String: UInt64], nextSequence: UInt64
    ) -> Result<UInt64, SpoolError> {
        let encoded = appends.map { $0.encoded() }
        var drops = drops
        var records = encoded
        // Two rounds of making room; then the new results go (counted) so reader commits still land.
        for attempt in 0..<4 {
            do throws(LMDBError) {
                let next = try environment.write { transaction throws(LMDBError) in
                    try write(records, commits: commits, drops: drops, nextSequence: nextSequence, in: transaction)
                }
                keepBelowSoftLimit()
                return .success(next)
            } catch where error.isMapFull && attempt < 2 {
                makeRoom(targetFraction: 0.5)
            } catch where error.isMapFull && !records.isEmpty {
                logger.error("spool full even after dropping old records; dropping new results", metadata: ["count": "\(records.count)"])
                drops["full", default: 0] += UInt64(records.count)
                records = []
            } catch {
                logger.error("spool write failed", metadata: ["error": "\(error)"])
                return .failure(.storage(error))
            }
        }
        return .failure(.storage(LMDBError.mapFull(operation: "writing the spool")))
    }

    private func write(
        _ records: [[UInt8]], commits: [Job], drops: [String: UInt64], nextSequence: UInt64,
        in transaction: LMDBTransaction
    ) throws(LMDBError) -> UInt64 {
        var sequence = nextSequence
        for record in records {
            try transaction.put(databases.results, sequence: sequence, value: record, append: true)
            sequence += 1
        }
        var nextEvent = try transaction.get(databases.meta, key: Meta.nextOutboxSequence).map(Meta.number) ?? 1
        for case .commitReader(let name, let cursor, let state, let outbox) in commits {
            try transaction.put(databases.cursors, key: Array(name.utf8), value: Meta.bytes(cursor))
            if let state { try transaction.put(databases.states, key: Array(name.utf8), value: state) }
            for event in outbox {
                try transaction.put(databases.outbox, sequence: nextEvent, value: event, append: true)
                nextEvent += 1
            }
        }
        try transaction.put(databases.meta, key: Meta.nextOutboxSequence, value: Meta.bytes(nextEvent))
        try addDrops(drops, in: transaction)
        try transaction.put(databases.meta, key: Meta.nextSequence, value: Meta.bytes(sequence))
        return sequence
    }

    private func addDrops(_ drops: [String: UInt64], in transaction: LMDBTransaction) throws(LMDBError) {
        for (reason, count) in drops where count > 0 {
            let key = Meta.dropKey(reason)
            let total = (try transaction.get(databases.meta, key: key).map(Meta.number) ?? 0) + count
            try transaction.put(databases.meta, key: key, value: Meta.bytes(total))
            logger.warning(
                "spool dropped records before every output had them",
                metadata: ["reason": "\(reason)", "count": "\(count)", "total": "\(total)"])
        }
    }

    /// Trims ahead of the cap: once results fill 75 % of the map, the oldest go until 60 % is left,
    /// keeping headroom for LMDB's copy-on-write pages and free list so the cap is rarely hit.
    private func keepBelowSoftLimit() {
        let (mapSize, pageSize) = environment.geometry
        let databases = databases
        guard let pages = try? environment.read({ transaction throws(LMDBError) in transaction.statistics(databases.results).pages }),
            pages * pageSize > mapSize * 3 / 4
        else { return }
        makeRoom(targetFraction: 0.6)
    }

    /// Deletes the oldest records until the results use about `targetFraction` of the map.
    /// Records some reader had not yet handled are counted as dropped (`full`).
    private func makeRoom(targetFraction: Double) {
        let (mapSize, pageSize) = environment.geometry
        let databases = databases
        do {
            try environment.write { transaction throws(LMDBError) in
                let (entries, pages) = transaction.statistics(databases.results)
                guard entries > 0 else { return }
                let bytesPerRecord = max(1, Double(pages * pageSize) / Double(entries))
                let keep = Int(Double(mapSize) * targetFraction / bytesPerRecord)
                var toDelete = max(entries / 10, entries - keep)
                let oldestUnread = try minimumCursor(in: transaction) + 1
                var lost: UInt64 = 0
                try transaction.scan(databases.results) { key, _ in
                    guard toDelete > 0 else { return .stop }
                    toDelete -= 1
                    if ByteReader.key(key) >= oldestUnread { lost += 1 }
                    return .delete
                }
                try addDrops(["full": lost], in: transaction)
            }
        } catch {
            logger.error("could not make room in the full spool", metadata: ["error": "\(error)"])
        }
    }

    /// Deletes records every reader has handled and that are older than `spool.retain`, at most
    /// 50,000 per pass so the writer is never held up for long.
    private func trimExpired() {
        let cutoff = WallClock.now() - retain.nanoseconds
        let databases = databases
        let started = MonotonicClock.now()
        do {
            let deleted = try environment.write { transaction throws(LMDBError) in
                let passed = try minimumCursor(in: transaction)
                var deleted = 0
                try transaction.scan(databases.results) { key, value in
                    guard deleted < 50_000, ByteReader.key(key) <= passed, (ProbeResult.startTime(of: value) ?? 0) < cutoff
                    else { return .stop }
                    deleted += 1
                    return .delete
                }
                // Outbox events every receiver has delivered.
                var delivered = UInt64.max
                for reader in outboxReaders {
                    delivered = min(delivered, try transaction.get(databases.cursors, key: Array(reader.utf8)).map(Meta.number) ?? 0)
                }
                if outboxReaders.isEmpty { delivered = 0 }
                try transaction.scan(databases.outbox) { key, _ in ByteReader.key(key) <= delivered ? .delete : .stop }
                return deleted
            }
            if deleted > 0 {
                logger.debug(
                    "spool trimmed records past retention",
                    metadata: ["records": "\(deleted)", "microseconds": "\((MonotonicClock.now() - started) / 1000)"])
            }
        } catch {
            logger.error("spool retention trim failed", metadata: ["error": "\(error)"])
        }
    }

    /// The position every registered reader has passed; everything when there are no readers.
    private func minimumCursor(in transaction: LMDBTransaction) throws(LMDBError) -> UInt64 {
        var minimum = UInt64.max
        for reader in readers {
            minimum = min(minimum, try transaction.get(databases.cursors, key: Array(reader.utf8)).map(Meta.number) ?? 0)
        }
        return minimum
    }
}

/// Keys and number encoding of the `meta` database.
enum Meta {
    static let nextSequence = Array("next_sequence".utf8)
    static let nextOutboxSequence = Array("next_outbox_sequence".utf8)
    static func dropKey(_ reason: String) -> [UInt8] { Array("dropped.\(reason)".utf8) }
    static func bytes(_ value: UInt64) -> [UInt8] { ByteWriter.key(value) }
    static func number(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { ByteReader.key($0) } }
}
