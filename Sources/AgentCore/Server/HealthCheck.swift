/// The verdicts behind `/health`, from facts passed in. Pure, so every case is tested without
/// stalling a real thread.
public enum HealthCheck {
    /// The scheduler turns at least once a second; five seconds without a turn is a stall.
    public static let schedulerStallAfter = Duration.seconds(5)

    /// nil when healthy, otherwise every reason it is not.
    public static func problems(schedulerHeartbeat: MonotonicInstant, now: MonotonicInstant, spoolProblem: String?) -> [String]? {
        var problems: [String] = []
        let silent = now - schedulerHeartbeat
        if silent > schedulerStallAfter {
            problems.append("the probe scheduler has not run for \(silent.components.seconds) s")
        }
        if let spoolProblem { problems.append(spoolProblem) }
        return problems.isEmpty ? nil : problems
    }
}
