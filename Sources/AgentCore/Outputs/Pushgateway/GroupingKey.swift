import Foundation

/// The grouping key of an agent's Pushgateway group: `/metrics/job/<job>/<nodeLabel>/<node>`,
/// the node under `instance`, or under `node` when the series carry the probed target as
/// `instance` (`instance_label: target`). A value that is empty or has anything but unreserved
/// URL characters is sent in the gateway's base64url form (`/instance@base64/<value>`), which
/// it decodes back to the exact value.
public struct GroupingKey: Sendable, Equatable {
    public let job: String
    public let nodeLabel: String

    public init(job: String, nodeLabel: String = "instance") {
        self.job = job
        self.nodeLabel = nodeLabel
    }

    /// The group of `node` under the gateway at `base`.
    public func url(base: String, node: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/metrics" + Self.segment("job", job) + Self.segment(nodeLabel, node)
    }

    static func segment(_ name: String, _ value: String) -> String {
        let plain = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        if !value.isEmpty, value.unicodeScalars.allSatisfy(plain.contains) {
            return "/\(name)/\(value)"
        }
        guard !value.isEmpty else { return "/\(name)@base64/=" }
        let encoded = Data(value.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return "/\(name)@base64/\(encoded)"
    }
}
