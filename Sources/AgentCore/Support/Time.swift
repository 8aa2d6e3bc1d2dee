import Dispatch
import Foundation

/// A wall-clock instant: what results are stamped with and what outputs send as sample and line
/// times. Nanoseconds since the Unix epoch, so two probes in the same microsecond still order.
///
/// Conversions to the units each wire format wants (Loki's nanosecond strings, remote-write's
/// milliseconds, Prometheus' seconds) live here, so no call site multiplies by hand.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let unixNanoseconds: Int64

    public init(unixNanoseconds: Int64) {
        self.unixNanoseconds = unixNanoseconds
    }

    public init(unixSeconds: Int64) {
        self.unixNanoseconds = unixSeconds * 1_000_000_000
    }

    public static var now: Timestamp { Timestamp(Date()) }

    public init(_ date: Date) {
        self.unixNanoseconds = Int64((date.timeIntervalSince1970 * 1e9).rounded())
    }

    /// Whole days since 1970-01-01 (a Thursday), rounded down.
    public var daysSinceEpoch: Int64 { truncated(to: .seconds(86_400)).unixSeconds / 86_400 }

    /// Whole seconds, rounded down (also before the epoch).
    public var unixSeconds: Int64 {
        unixNanoseconds >= 0 ? unixNanoseconds / 1_000_000_000 : (unixNanoseconds - 999_999_999) / 1_000_000_000
    }

    /// Whole milliseconds, rounded down: remote-write's sample time.
    public var unixMilliseconds: Int64 {
        unixNanoseconds >= 0 ? unixNanoseconds / 1_000_000 : (unixNanoseconds - 999_999) / 1_000_000
    }

    /// Seconds as Prometheus text shows them, with microsecond precision.
    public var unixSecondsText: String { DecimalSeconds.text(microseconds: unixNanoseconds / 1000) }

    /// `2026-11-25T08:14:39.123456Z`.
    public var rfc3339: String { RFC3339.format(self) }

    public var description: String { rfc3339 }

    /// The start of the minute (or hour…) this instant falls in.
    public func truncated(to width: Duration) -> Timestamp {
        let step = max(1, width.inNanoseconds)
        let floor = unixNanoseconds >= 0 ? unixNanoseconds / step * step : (unixNanoseconds - step + 1) / step * step
        return Timestamp(unixNanoseconds: floor)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.unixNanoseconds < rhs.unixNanoseconds }

    public static func + (lhs: Timestamp, rhs: Duration) -> Timestamp {
        Timestamp(unixNanoseconds: lhs.unixNanoseconds + rhs.inNanoseconds)
    }

    public static func - (lhs: Timestamp, rhs: Duration) -> Timestamp {
        Timestamp(unixNanoseconds: lhs.unixNanoseconds - rhs.inNanoseconds)
    }

    public static func - (lhs: Timestamp, rhs: Timestamp) -> Duration {
        .nanoseconds(lhs.unixNanoseconds - rhs.unixNanoseconds)
    }
}

/// A point on the monotonic clock (CLOCK_MONOTONIC): what schedules, deadlines and backoff are
/// measured in, immune to wall-clock steps. A plain value, so pure state machines take it as
/// input and their tests start from any instant they like.
public struct MonotonicInstant: Sendable, Hashable, Comparable {
    public let nanoseconds: UInt64

    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    public static var now: MonotonicInstant {
        MonotonicInstant(nanoseconds: DispatchTime.now().uptimeNanoseconds)
    }

    public static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: MonotonicInstant, rhs: Duration) -> MonotonicInstant {
        let delta = rhs.inNanoseconds
        return MonotonicInstant(nanoseconds: delta >= 0 ? lhs.nanoseconds &+ UInt64(delta) : lhs.nanoseconds &- min(lhs.nanoseconds, UInt64(-delta)))
    }

    public static func - (lhs: MonotonicInstant, rhs: Duration) -> MonotonicInstant {
        lhs + (.zero - rhs)
    }

    /// The time from `rhs` to `lhs`; negative when `rhs` is later.
    public static func - (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Duration {
        lhs >= rhs ? .nanoseconds(Int64(lhs.nanoseconds - rhs.nanoseconds)) : .zero - .nanoseconds(Int64(rhs.nanoseconds - lhs.nanoseconds))
    }

    /// The duration until `self` from `now`, never negative.
    public func duration(after now: MonotonicInstant) -> Duration {
        self > now ? self - now : .zero
    }
}

extension Duration {
    /// Whole nanoseconds; every duration the agent handles is far below the 292 years that fit.
    public var inNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Whole microseconds: libcurl's `*_TIME_T` unit and the spool's.
    public var inMicroseconds: Int64 { inNanoseconds / 1000 }

    /// Whole milliseconds, rounded up so a non-zero timeout never becomes curl's "no timeout" 0.
    public var inMillisecondsRoundedUp: Int64 { (inNanoseconds + 999_999) / 1_000_000 }

    /// Whole minutes, rounded up: a window of 90 s covers two minute buckets.
    public var inMinutesRoundedUp: Int64 { (inNanoseconds + 59_999_999_999) / 60_000_000_000 }

    /// Milliseconds and days as floating-point numbers, for what people read.
    public var inMilliseconds: Double { inSeconds * 1000 }
    public var inDays: Double { inSeconds / 86_400 }

    /// Seconds as a floating-point number, for histogram bounds and rates.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Seconds as exact decimal text with six places (`1.234567`): the same value always renders
    /// the same bytes, in JSON lines and in metric bodies.
    public var secondsText: String { DecimalSeconds.text(microseconds: inMicroseconds) }

    public init(seconds: Double) {
        self = .nanoseconds(Int64((seconds * 1e9).rounded()))
    }
}

/// Stored as Unix nanoseconds, the form the outbox and saved alert state have always used.
extension Timestamp: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(unixNanoseconds: try decoder.singleValueContainer().decode(Int64.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(unixNanoseconds)
    }
}
