import Foundation

/// Which of a job's groups on the Pushgateway belong to nodes that stopped pushing: the gateway
/// never expires a group, so an autoscaled cluster's removed nodes would keep their last values
/// (and their `up`-looking gauges) forever. Pure: reads the gateway's `GET /api/v1/metrics`
/// answer, decides by its own `push_time_seconds` (the gateway's clock, not the nodes').
public enum StaleGroups {
    public struct Group: Sendable, Equatable {
        /// The node's name: the grouping key's `instance` (or `node`) value.
        public var node: String
        /// The gateway's time of the group's last successful push, Unix seconds.
        public var pushedAt: Double
    }

    /// Every group keyed by `key`'s job and node label only (an agent's own groups), or what is wrong with the answer.
    public static func groups(_ key: GroupingKey, in body: String) -> Result<[Group], StaleGroupsError> {
        guard let document = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let data = document["data"] as? [[String: Any]]
        else { return .failure(StaleGroupsError("the pushgateway's /api/v1/metrics did not answer its JSON document")) }
        var groups: [Group] = []
        for entry in data {
            guard let labels = entry["labels"] as? [String: String], labels["job"] == key.job, labels.count == 2,
                let node = labels[key.nodeLabel]
            else { continue }
            let samples = (entry["push_time_seconds"] as? [String: Any])?["metrics"] as? [[String: Any]]
            guard let text = samples?.first?["value"] as? String, let pushedAt = Double(text) else {
                return .failure(StaleGroupsError("group \(key.nodeLabel)=\"\(node)\" has no push_time_seconds"))
            }
            groups.append(Group(node: node, pushedAt: pushedAt))
        }
        return .success(groups.sorted { $0.node < $1.node })
    }

    /// The groups last pushed more than `stale` before `now`; a group that never pushed
    /// successfully (time 0) counts as stale.
    public static func stale(_ groups: [Group], now: Timestamp, stale: Duration) -> [Group] {
        let cutoff = Double(now.unixNanoseconds) / 1e9 - stale.inSeconds
        return groups.filter { $0.pushedAt < cutoff }
    }
}

public struct StaleGroupsError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
