/// The verdicts behind `/health` and `/ready`, from facts passed in. Pure, so every case is
/// tested without stalling a real thread.
public enum HealthCheck {
    /// The scheduler turns at least once a second; five seconds without a turn is a stall.
    public static let schedulerStallAfter: UInt64 = 5_000_000_000

    /// nil when healthy, otherwise every reason it is not.
    public static func problems(schedulerHeartbeat: UInt64, now: UInt64, spoolProblem: String?) -> [String]? {
        var problems: [String] = []
        if now > schedulerHeartbeat, now - schedulerHeartbeat > schedulerStallAfter {
            problems.append("the probe scheduler has not run for \((now - schedulerHeartbeat) / 1_000_000_000) s")
        }
        if let spoolProblem { problems.append(spoolProblem) }
        return problems.isEmpty ? nil : problems
    }
}
