import Foundation

/// The Pushgateway group of one agent: `/metrics/job/<job>/instance/<node>`. A value that is
/// empty or has anything but unreserved URL characters is sent in the gateway's base64url form
/// (`/instance@base64/<value>`), which it decodes back to the exact value.
public enum GroupingKey {
    public static func url(base: String, job: String, instance: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/metrics" + segment("job", job) + segment("instance", instance)
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
