import DequeModule
import Dispatch
import Foundation
import Logging
import Synchronization

/// The spool's single writer: a dedicated thread that batches whatever is pending into one
/// durable transaction (group commit), so a commit's two fsyncs (~6 ms here) are paid per batch,
/// never per record, and never on Swift's cooperative pool.
///
/// A write that fails (a full or failing filesystem) loses nothing it can keep: the results go
/// back to the front of the queue and reader commits wait and are retried every half second, so
/// probing goes on and no cursor moves backwards. Memory stays bounded: past `spool.max_pending` the
/// oldest waiting results are dropped and counted (`write_error`). It recovers by itself once a
/// write succeeds again.
final class SpoolWriter: Sendable {
    enum Job: Sendable {
        /// `retryUntilWritten`: keep the commit queued through write failures (the usual case);
        /// false for a reader's last commit at shutdown, which must not hold the agent up.
        case commit(SpoolCommitRecord, retryUntilWritten: Bool)
        case flush
        case close
    }

    private struct Waiting {
        let job: Job
        let continuation: CheckedContinuation<Result<Void, SpoolError>, Never>
    }

    private struct Queue {
        let budget: Int
        var records = Deque<[UInt8]>()
        var recordBytes = 0
        var jobs: [Waiting] = []
        var drops: [SpoolDropReason: UInt64] = [:]
        var closing = false
        /// A write failed and no write has succeeded since.
        var failing = false
        /// Results dropped from memory since writes began to fail.
        var droppedWhileFailing: UInt64 = 0

        /// Drops the oldest waiting results until they fit the memory budget.
        mutating func enforceBudget() {
            while recordBytes > budget, let oldest = records.popFirst() {
                recordBytes -= oldest.count
                drops[failing ? .writeError : .backpressure, default: 0] += 1
                if failing { droppedWhileFailing += 1 }
            }
        }
    }

    /// When only results wait, the writer lingers this long for more before committing: at 100
    /// results a second that is five per commit instead of one. A reader's commit ends it at once.
    static let linger = Duration.milliseconds(50)
    static let retryInterval = Duration.milliseconds(500)

    let store: SpoolStore
    let signal = SpoolChangeSignal()
    private let queue: Mutex<Queue>
    private let wake = DispatchSemaphore(value: 0)
    private let lastSequenceValue: Atomic<UInt64>
    private let lastOutboxSequenceValue: Atomic<UInt64>
    private let heartbeat = Atomic<UInt64>(MonotonicInstant.now.nanoseconds)
    private let failure = Mutex<String?>(nil)
    private let readerKeys: [String]
    private let outboxReaderKeys: [String]
    private let retain: Duration
    private let logger: Logger

    init(
        store: SpoolStore, readerKeys: [String], outboxReaderKeys: [String], retain: Duration, maxPending: Int, logger: Logger
    ) throws(LMDBError) {
        self.store = store
        self.queue = Mutex(Queue(budget: maxPending))
        self.readerKeys = readerKeys
        self.outboxReaderKeys = outboxReaderKeys
        self.retain = retain
        self.logger = logger
        let (next, nextOutbox) = try store.nextSequences()
        lastSequenceValue = Atomic(next - 1)
        lastOutboxSequenceValue = Atomic(nextOutbox - 1)
        let thread = Thread { [self] in run(nextSequence: next) }
        thread.name = "latency-agent-spool"
        thread.start()
    }

    var lastSequence: UInt64 { lastSequenceValue.load(ordering: .acquiring) }
    var lastOutboxSequence: UInt64 { lastOutboxSequenceValue.load(ordering: .acquiring) }
    var lastHeartbeat: MonotonicInstant { MonotonicInstant(nanoseconds: heartbeat.load(ordering: .relaxed)) }
    var lastFailure: String? { failure.withLock { $0 } }

    /// Queues an encoded result for the next group commit. Never blocks: callable from the probe thread.
    func append(_ record: [UInt8]) {
        let wake = queue.withLock { queue in
            guard !queue.closing else { return false }
            let wasIdle = queue.records.isEmpty && queue.jobs.isEmpty
            queue.records.append(record)
            queue.recordBytes += record.count
            queue.enforceBudget()
            // Only the first item of a batch wakes the writer, and never while it waits out a failure.
            return wasIdle && !queue.failing
        }
        if wake { self.wake.signal() }
    }

    func submit(_ job: Job) async -> Result<Void, SpoolError> {
        await withCheckedContinuation { continuation in
            let accepted = queue.withLock { queue in
                guard !queue.closing else { return false }
                queue.jobs.append(Waiting(job: job, continuation: continuation))
                if case .close = job { queue.closing = true }
                return true
            }
            if accepted { wake.signal() } else { continuation.resume(returning: .failure(.closed)) }
        }
    }

    // MARK: The thread

    private func run(nextSequence start: UInt64) {
        var nextSequence = start
        var lastRoutine = MonotonicInstant.now
        var retryAt: MonotonicInstant?
        while true {
            heartbeat.store(MonotonicInstant.now.nanoseconds, ordering: .relaxed)
            let timeout = retryAt.map { min(.seconds(1), $0.duration(after: .now)) } ?? .seconds(1)
            _ = wake.wait(timeout: .now() + .nanoseconds(Int(timeout.inNanoseconds)))
            let closing = queue.withLock { $0.closing }
            if let retryAt, MonotonicInstant.now < retryAt, !closing { continue }
            let onlyResults = queue.withLock { !$0.records.isEmpty && $0.jobs.isEmpty && $0.records.count < 1000 && !$0.failing }
            if onlyResults { _ = wake.wait(timeout: .now() + .nanoseconds(Int(Self.linger.inNanoseconds))) }
            // The queue's contents move into the batch: nothing is copied.
            var (batch, jobs) = queue.withLock { queue in
                defer {
                    queue.recordBytes = 0
                    queue.jobs.removeAll()
                    queue.drops.removeAll()
                }
                var records = Deque<[UInt8]>()
                swap(&records, &queue.records)
                return (SpoolWriteBatch(records: records, commits: [], drops: queue.drops), queue.jobs)
            }
            for case .commit(let commit, _) in jobs.map(\.job) { batch.commits.append(commit) }
            let closeRequested = jobs.contains { if case .close = $0.job { true } else { false } }
            if !batch.isEmpty || !jobs.isEmpty {
                switch write(&batch, nextSequence: nextSequence) {
                case .success(let (next, nextOutbox)):
                    let wroteResults = next != nextSequence
                    nextSequence = next
                    lastSequenceValue.store(next - 1, ordering: .releasing)
                    if let nextOutbox { lastOutboxSequenceValue.store(nextOutbox - 1, ordering: .releasing) }
                    recovered()
                    retryAt = nil
                    for waiting in jobs { waiting.continuation.resume(returning: .success(())) }
                    if wroteResults || nextOutbox != nil { signal.notify() }
                case .failure(let error):
                    jobs = keep(batch, jobs: jobs, after: error, nextSequence: nextSequence)
                    retryAt = .now + Self.retryInterval
                    if closeRequested {
                        let lost = queue.withLock { $0.records.count }
                        logger.error(
                            "spool closed while writes fail; results still in memory are lost",
                            metadata: ["results": "\(lost)", "error": "\(error)"])
                        for waiting in jobs { waiting.continuation.resume(returning: .failure(error)) }
                        return
                    }
                    queue.withLock { $0.jobs.insert(contentsOf: jobs, at: 0) }
                    continue
                }
                if closeRequested { return }
            }
            if retryAt == nil, MonotonicInstant.now - lastRoutine >= .seconds(1) {
                lastRoutine = .now
                trim()
            }
        }
    }

    /// One group commit. A full map makes room (oldest records go, counted) and tries again; if
    /// that cannot help, the new results are dropped and counted so reader commits still land.
    private func write(_ batch: inout SpoolWriteBatch, nextSequence: UInt64) -> Result<(UInt64, UInt64?), SpoolError> {
        for attempt in 0..<4 {
            do throws(LMDBError) {
                let outcome = try store.write(batch, nextSequence: nextSequence)
                if !batch.records.isEmpty { trim(sizeOnly: true) }
                return .success(outcome)
            } catch where error.isMapFull && attempt < 2 {
                makeRoom()
            } catch where error.isMapFull && !batch.records.isEmpty {
                logger.error("spool full even after dropping old records; dropping new results", metadata: ["count": "\(batch.records.count)"])
                batch.drops[.full, default: 0] += UInt64(batch.records.count)
                batch.records = []
            } catch {
                return .failure(.storage(error))
            }
        }
        return .failure(.storage(LMDBError.mapFull(operation: "writing the spool")))
    }

    /// After a failed write: lands what it can (reader commits on their own), puts the results
    /// back in front of anything queued since, and returns the jobs still waiting.
    private func keep(
        _ batch: SpoolWriteBatch, jobs: [Waiting], after error: SpoolError, nextSequence: UInt64
    ) -> [Waiting] {
        let message = "\(error)"
        let first = failure.withLock { previous in
            defer { previous = message }
            return previous == nil
        }
        var commitsLanded = false
        if !batch.commits.isEmpty,
            let (_, nextOutbox) = try? store.write(SpoolWriteBatch(commits: batch.commits, drops: batch.drops), nextSequence: nextSequence)
        {
            commitsLanded = true
            if let nextOutbox { lastOutboxSequenceValue.store(nextOutbox - 1, ordering: .releasing) }
        }
        let held = queue.withLock { queue in
            queue.failing = true
            for record in batch.records.reversed() {
                queue.records.prepend(record)
                queue.recordBytes += record.count
            }
            if !commitsLanded {
                for (reason, count) in batch.drops { queue.drops[reason, default: 0] += count }
            }
            queue.enforceBudget()
            return queue.records.count
        }
        if first {
            logger.error(
                "spool writes fail; probing goes on, results wait in memory and are retried",
                metadata: ["error": "\(message)", "waiting_results": "\(held)", "memory_limit_bytes": "\(queue.withLock { $0.budget })"])
        }
        var waiting: [Waiting] = []
        for entry in jobs {
            switch entry.job {
            case .commit where commitsLanded:
                entry.continuation.resume(returning: .success(()))
            case .commit(_, retryUntilWritten: true), .close:
                waiting.append(entry)
            case .commit(_, retryUntilWritten: false), .flush:
                entry.continuation.resume(returning: .failure(error))
            }
        }
        if commitsLanded { signal.notify() }
        return waiting
    }

    private func recovered() {
        let wasFailing = failure.withLock { previous in
            defer { previous = nil }
            return previous != nil
        }
        let dropped = queue.withLock { queue in
            defer {
                queue.failing = false
                queue.droppedWhileFailing = 0
            }
            return queue.droppedWhileFailing
        }
        if wasFailing {
            logger.notice("spool writes succeed again", metadata: ["dropped_while_failing": "\(dropped)"])
        }
    }

    // MARK: Retention

    /// Expired records and the soft size limit (`SpoolRetention.routine`), and delivered outbox
    /// events. After a commit only the size matters, and it is read first: the full facts are
    /// gathered only when the results are near the soft limit.
    private func trim(sizeOnly: Bool = false) {
        do throws(LMDBError) {
            if sizeOnly, !SpoolRetention.nearSoftLimit(usedBytes: try store.usedBytes(), mapBytes: store.environment.geometry.mapSize) {
                return
            }
            let started = MonotonicInstant.now
            var facts = try store.retentionFacts(readerKeys: readerKeys, cutoff: Timestamp.now - retain)
            if sizeOnly { facts.expiredThrough = nil }
            if let plan = SpoolRetention.routine(facts) { try delete(plan, reason: .full, started: started) }
            if !sizeOnly {
                try store.trimOutbox(through: SpoolRetention.outboxDeleteThrough(receiverCursors: try store.cursors(of: outboxReaderKeys)))
            }
        } catch {
            logger.error("spool retention trim failed", metadata: ["error": "\(error)"])
        }
    }

    private func makeRoom() {
        do throws(LMDBError) {
            let facts = try store.retentionFacts(readerKeys: readerKeys, cutoff: Timestamp.now - retain)
            if let plan = SpoolRetention.mapFull(facts) { try delete(plan, reason: .full, started: .now) }
        } catch {
            logger.error("could not make room in the full spool", metadata: ["error": "\(error)"])
        }
    }

    private func delete(_ plan: SpoolRetention.Plan, reason: SpoolDropReason, started: MonotonicInstant) throws(LMDBError) {
        let deleted = try store.apply(plan, reason: reason)
        if plan.dropped > 0 {
            logger.warning(
                "spool dropped records before every output had them",
                metadata: ["reason": "\(reason.rawValue)", "count": "\(plan.dropped)"])
        } else if deleted > 0 {
            logger.debug(
                "spool trimmed records past retention",
                metadata: ["records": "\(deleted)", "microseconds": "\((MonotonicInstant.now - started).inMicroseconds)"])
        }
    }
}
