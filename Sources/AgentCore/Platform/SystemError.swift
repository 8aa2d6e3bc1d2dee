#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Words for `errno` values and the process's descriptor limit, for messages that tell a node's
/// own shortage apart from a target's failure.
public enum SystemError {
    public static func describe(_ code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }

    /// The open-file limit in force: what a prober running out of sockets has hit.
    public static var openFileLimit: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        return Int(clamping: limit.rlim_cur)
    }

    static var openFileLimitText: String {
        "the open-file limit is \(openFileLimit), of which \(openFileLimit - Int(probeSocketCeiling)) are kept from probes"
    }

    /// Probes get no descriptor numbered this high or higher: the rest (a sixteenth of the
    /// limit, at least 8) stays free for `/health`, the outputs and the config watcher, so a
    /// prober short of sockets cannot make the node look dead.
    static var probeSocketCeiling: Int32 {
        let limit = openFileLimit
        return Int32(clamping: limit - max(8, limit / 16))
    }

    /// Raises the soft open-file limit to the hard one, as servers do at start: the default soft
    /// limit (often 1024) is too low for thousands of probes in flight. Returns the limit now in force.
    @discardableResult
    public static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }
}
