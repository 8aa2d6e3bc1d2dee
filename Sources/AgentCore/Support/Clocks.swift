import Dispatch
import Foundation

/// Monotonic time in nanoseconds (CLOCK_MONOTONIC): what schedules and deadlines are measured in,
/// immune to wall-clock steps.
public enum MonotonicClock {
    public static func now() -> UInt64 {
        DispatchTime.now().uptimeNanoseconds
    }
}

/// Wall-clock time in nanoseconds since the Unix epoch: what results are stamped with.
public enum WallClock {
    public static func now() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1e9).rounded())
    }
}
