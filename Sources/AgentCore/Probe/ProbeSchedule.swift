import HeapModule

/// Decides when each endpoint is probed. A pure state machine: the caller passes the time in and
/// carries out the returned actions, so every rule here is tested without clocks or sockets.
///
/// Each endpoint fires every `interval` at a stable phase: `hash(seed, name) mod interval` past a
/// wall-clock multiple of the interval. Endpoints spread evenly inside the interval instead of
/// firing in the same millisecond, the phase survives restarts and reloads, and agents on
/// different nodes (different seeds) do not hit a shared target at the same instant.
public struct ProbeSchedule: Sendable {
    public enum Action: Equatable, Sendable {
        /// Start a probe now, `lateBy` behind its due time.
        case start(endpoint: String, lateBy: Duration)
        /// The previous probe of this endpoint is still running: this tick is dropped, not queued.
        case skipInFlight(endpoint: String)
        /// The loop fell behind by whole intervals (a stalled process): those ticks are dropped.
        case skipBehind(endpoint: String, ticks: Int)
    }

    private struct Entry: Sendable {
        var interval: UInt64
        var nextDue: UInt64
        var inFlight: Bool
        var generation: Int
    }

    private struct Due: Comparable, Sendable {
        var time: UInt64
        var endpoint: String
        var generation: Int

        static func < (lhs: Due, rhs: Due) -> Bool {
            (lhs.time, lhs.endpoint) < (rhs.time, rhs.endpoint)
        }
    }

    private var entries: [String: Entry] = [:]
    private var queue = Heap<Due>()
    private var generation = 0
    private let seed: String

    public init(seed: String) {
        self.seed = seed
    }

    /// Sets the endpoints to schedule. Unchanged endpoints keep their next due time and in-flight
    /// state; new or re-timed ones get their phase; removed ones stop.
    public mutating func setEndpoints(_ endpoints: [(name: String, interval: Duration)], now: MonotonicInstant, wallClock: Timestamp) {
        var next: [String: Entry] = [:]
        for (name, interval) in endpoints {
            let nanos = UInt64(max(1, interval.inNanoseconds))
            if let existing = entries[name], existing.interval == nanos {
                next[name] = existing
                continue
            }
            generation += 1
            let entry = Entry(
                interval: nanos, nextDue: firstDue(name: name, interval: nanos, now: now.nanoseconds, wallClock: wallClock),
                inFlight: entries[name]?.inFlight ?? false, generation: generation)
            next[name] = entry
            queue.insert(Due(time: entry.nextDue, endpoint: name, generation: entry.generation))
        }
        entries = next
    }

    /// The actions due at `now`, in due order.
    public mutating func due(at instant: MonotonicInstant) -> [Action] {
        let now = instant.nanoseconds
        var actions: [Action] = []
        while let head = queue.min, head.time <= now {
            queue.removeMin()
            guard var entry = entries[head.endpoint], entry.generation == head.generation else { continue }
            let behind = now - entry.nextDue
            let missed = Int(behind / entry.interval)
            if missed > 0 { actions.append(.skipBehind(endpoint: head.endpoint, ticks: missed)) }
            if entry.inFlight {
                actions.append(.skipInFlight(endpoint: head.endpoint))
            } else {
                entry.inFlight = true
                actions.append(.start(endpoint: head.endpoint, lateBy: .nanoseconds(Int64(behind % entry.interval))))
            }
            entry.nextDue += UInt64(missed + 1) * entry.interval
            entries[head.endpoint] = entry
            queue.insert(Due(time: entry.nextDue, endpoint: head.endpoint, generation: entry.generation))
        }
        return actions
    }

    /// Marks the endpoint's probe as finished, so its next tick may start one.
    public mutating func finished(_ endpoint: String) {
        entries[endpoint]?.inFlight = false
    }

    /// When `due(at:)` next has something to do; nil with no endpoints.
    public var nextDeadline: MonotonicInstant? {
        queue.min.map { MonotonicInstant(nanoseconds: $0.time) }
    }

    public var endpointCount: Int { entries.count }

    private func firstDue(name: String, interval: UInt64, now: UInt64, wallClock: Timestamp) -> UInt64 {
        let phase = Self.phase(seed: seed, name: name, interval: interval)
        let wallPhase = UInt64(max(0, wallClock.unixNanoseconds)) % interval
        return now + (phase + interval - wallPhase) % interval
    }

    /// FNV-1a of seed and name, reduced to the interval: stable across runs and platforms.
    static func phase(seed: String, name: String, interval: UInt64) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in seed.utf8 + [0] + name.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash % interval
    }
}
