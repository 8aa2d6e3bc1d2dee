/// Which spool reader: a type, so nothing parses a name back from a string.
///
/// `storageKey` is the key of its cursor and state in the spool; it is kept stable across
/// versions so an upgraded agent resumes where the old one stopped.
public enum ReaderName: Hashable, Sendable, CustomStringConvertible {
    case pushgateway
    case loki
    case remoteWrite
    /// The alert evaluator, which turns results into outbox events.
    case alertEvaluator
    /// The status page's in-memory windows; it keeps no cursor in the spool.
    case statusBoard
    /// An alert receiver, reading the outbox.
    case receiver(ReceiverKind, String)

    public var storageKey: String {
        switch self {
        case .pushgateway: return "pushgateway"
        case .loki: return "loki"
        case .remoteWrite: return "remote_write"
        case .alertEvaluator: return "alerts"
        case .statusBoard: return "status_board"
        case .receiver(let kind, let name): return "\(kind.rawValue):\(name)"
        }
    }

    /// The name in logs, `/status` and the `output` label of self-metrics.
    public var description: String { storageKey }

    /// The receiver's own name, for the `receiver` label of alert metrics.
    public var receiverName: String? {
        if case .receiver(_, let name) = self { return name }
        return nil
    }
}

/// The kinds of alert receivers.
public enum ReceiverKind: String, Sendable, Hashable, CaseIterable {
    case slack
    case alertmanager
    case webhook
}
