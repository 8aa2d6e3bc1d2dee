import Logging

/// The durable local spool every probe result is written to before any output sees it
/// (DESIGN invariant 1). Outputs are readers: each keeps its own cursor, and its folded state,
/// committed together in one transaction.
///
/// A thin façade: `SpoolStore` holds the databases, `SpoolWriter` the writer thread and its
/// queue, `SpoolRetention` the rules for what goes. Reads use LMDB's MVCC snapshots from any
/// thread and never wait for the writer.
public final class Spool: Sendable {
    public let path: String
    private let store: SpoolStore
    private let writer: SpoolWriter
    private let logger: Logger

    /// - Parameters:
    ///   - readers: the readers of results, whose cursors hold records back from deletion.
    ///   - receivers: the readers of the outbox (alert receivers), whose cursors hold events back.
    public init(config: SpoolConfig, readers: [ReaderName], receivers: [ReaderName] = [], logger: Logger) throws(SpoolError) {
        path = config.path
        self.logger = logger
        do throws(LMDBError) {
            store = try SpoolStore(path: config.path, mapSize: config.maxSize)
            writer = try SpoolWriter(
                store: store, readerKeys: readers.map(\.storageKey), outboxReaderKeys: receivers.map(\.storageKey),
                retain: config.retain, maxPending: config.maxPending, logger: logger)
        } catch {
            throw .storage(error)
        }
    }

    // MARK: Writing

    /// Queues a result for the next group commit. Never blocks: callable from the probe thread.
    public func append(_ result: ProbeResult) {
        writer.append(result.spoolRecord())
    }

    /// Waits until everything appended so far is durable; fails at once if the write fails.
    public func flush() async throws(SpoolError) {
        try await writer.submit(.flush).get()
    }

    /// Commits a reader's new cursor and state in one transaction, after its output accepted the
    /// data: the only way a cursor moves. `outbox` events are appended in the same transaction, so
    /// an alert transition is written exactly when the evaluator's cursor passes its cause.
    /// Through write failures the commit waits and is retried, unless `retryUntilWritten` is false.
    public func commit(
        _ reader: ReaderName, cursor: UInt64, state: [UInt8]?, outbox: [[UInt8]] = [], retryUntilWritten: Bool = true
    ) async throws(SpoolError) {
        let record = SpoolCommitRecord(reader: reader.storageKey, cursor: cursor, state: state, outbox: outbox)
        try await writer.submit(.commit(record, retryUntilWritten: retryUntilWritten)).get()
    }

    /// Stops the writer after it has written everything queued.
    public func close() async {
        _ = await writer.submit(.close)
    }

    // MARK: Reading

    /// The sequence number of the newest durable result (0 before the first).
    public var lastSequence: UInt64 { writer.lastSequence }

    /// The sequence number of the newest durable outbox event (0 before the first).
    public var lastOutboxSequence: UInt64 { writer.lastOutboxSequence }

    /// Moves whenever results or outbox events become durable; see `waitForChange`.
    public var changeGeneration: UInt64 { writer.signal.generation }

    /// Returns once something new is durable after `generation`, at `deadline`, or on cancellation.
    public func waitForChange(beyond generation: UInt64, until deadline: MonotonicInstant?) async {
        await writer.signal.wait(beyond: generation, until: deadline)
    }

    /// Up to `limit` results after `sequence`, oldest first. Records that cannot be decoded are
    /// skipped and logged, so one bad record can never stall a reader.
    public func results(after sequence: UInt64, limit: Int) throws(SpoolError) -> [SpoolEntry<ProbeResult>] {
        let logger = logger
        do throws(LMDBError) {
            return try store.results(after: sequence, limit: limit) { bad in
                logger.error("skipping an unreadable spool record", metadata: ["sequence": "\(bad)"])
            }
        } catch {
            throw .storage(error)
        }
    }

    /// Up to `limit` outbox events after `sequence`, oldest first, as stored.
    public func outbox(after sequence: UInt64, limit: Int) throws(SpoolError) -> [SpoolEntry<[UInt8]>] {
        do throws(LMDBError) { return try store.outboxEvents(after: sequence, limit: limit) } catch { throw .storage(error) }
    }

    /// A reader's committed cursor (0 when it never committed) and state.
    public func position(of reader: ReaderName) throws(SpoolError) -> (cursor: UInt64, state: [UInt8]?) {
        do throws(LMDBError) { return try store.position(of: reader.storageKey) } catch { throw .storage(error) }
    }

    /// Why the spool cannot take results now, or nil when it can: its writer is stalled or its
    /// last write failed.
    public func unwritableReason(now: MonotonicInstant = .now, stallAfter: Duration = .seconds(10)) -> String? {
        if let failure = writer.lastFailure { return "spool writes fail: \(failure); results wait in memory and are retried" }
        let stalled = now - writer.lastHeartbeat
        if stalled > stallAfter { return "the spool writer has not run for \(stalled.components.seconds) s" }
        return nil
    }

    /// Records, size, drops and each reader's lag, for `spool stats`, `/status` and self-metrics.
    public func statistics(readers: [ReaderName], now: Timestamp = .now) throws(SpoolError) -> SpoolStatistics {
        let store = store
        let lastSequence = lastSequence
        do throws(LMDBError) {
            return try store.environment.read { transaction throws(LMDBError) in
                let (entries, bytes) = store.resultStatistics(in: transaction)
                let (oldest, newest) = try store.ends(in: transaction)
                let last = newest?.0 ?? lastSequence
                var lags: [SpoolStatistics.ReaderLag] = []
                for reader in readers {
                    let cursor = try store.cursor(reader.storageKey, in: transaction)
                    var age = Duration.zero
                    if cursor < last, let time = try store.timeOfFirstResult(after: cursor, in: transaction) {
                        age = max(.zero, now - time)
                    }
                    lags.append(.init(reader: reader, cursor: cursor, records: last > cursor ? last - cursor : 0, age: age))
                }
                return SpoolStatistics(
                    records: entries, bytes: bytes, maxBytes: store.environment.geometry.mapSize,
                    oldest: oldest.map { .init(sequence: $0.0, startedAt: $0.1) },
                    newest: newest.map { .init(sequence: $0.0, startedAt: $0.1) },
                    dropped: try store.dropped(in: transaction), readers: lags)
            }
        } catch {
            throw .storage(error)
        }
    }
}

/// A spool operation that failed, with what to do about it.
public enum SpoolError: Error, CustomStringConvertible, Equatable {
    case closed
    case storage(LMDBError)

    public var description: String {
        switch self {
        case .closed: return "the spool is closed"
        case .storage(let error): return "spool storage error: \(error)"
        }
    }
}
