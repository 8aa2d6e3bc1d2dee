import Foundation

/// What makes a URL unusable, said the way a config error says it. Shared by the config, the
/// seed variables and the `probe` command, so all three accept the same URLs.
public enum URLCheck {
    /// nil when `text` is a usable URL with one of `schemes`; otherwise what is wrong, as the end
    /// of a sentence that starts with where the URL is ("endpoints[0].url …"). `needsHost: false`
    /// lets the host be empty (`dns:///name`: the node's own resolver).
    public static func problem(_ text: String, schemes: [String] = ["http", "https"], needsHost: Bool = true) -> String? {
        let expected = "must be an " + schemes.map { "\($0)://" }.joined(separator: " or ") + " URL" + (needsHost ? " with a host" : "")
        if let bad = text.unicodeScalars.first(where: { $0.value < 0x20 || $0.value == 0x7f || $0 == " " }) {
            let what = bad.value == 0 ? "a NUL byte" : bad == " " ? "a space" : "a control character (U+\(String(format: "%04X", bad.value)))"
            return "contains \(what); \(expected)"
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            schemes.contains(scheme)
        else { return expected }
        guard !needsHost || !(components.host ?? "").isEmpty else { return expected }
        // URLComponents drops a port it cannot read; the text tells whether one was written.
        if let port = components.port {
            guard (1...65535).contains(port) else { return "has port \(port); ports go from 1 to 65535" }
        } else if let authority = authority(of: text), let colon = authority.lastIndex(of: ":"),
            !authority.hasSuffix("]"), authority[authority.index(after: colon)...].allSatisfy(\.isNumber),
            authority.index(after: colon) < authority.endIndex
        {
            return "has port \(authority[authority.index(after: colon)...]); ports go from 1 to 65535"
        }
        return nil
    }

    private static func authority(of text: String) -> Substring? {
        guard let start = text.range(of: "://")?.upperBound else { return nil }
        let end = text[start...].firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? text.endIndex
        let authority = text[start..<end]
        return authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
    }
}
