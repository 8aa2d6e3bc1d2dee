/// Checks a response body against the endpoint's `body_match`. Bodies are read as UTF-8 with
/// invalid bytes replaced, which keeps matching total on binary responses.
struct BodyMatcher {
    private let match: BodyMatch
    private let regex: Regex<AnyRegexOutput>?

    init(_ match: BodyMatch) {
        self.match = match
        if case .regex(let pattern) = match {
            // Validated when the config was loaded.
            self.regex = try? Regex(pattern)
        } else {
            self.regex = nil
        }
    }

    func matches(_ body: [UInt8]) -> Bool {
        let text = String(decoding: body, as: UTF8.self)
        switch match {
        case .contains(let needle): return needle.isEmpty || text.contains(needle)
        case .regex: return regex.map { text.contains($0) } ?? false
        }
    }

    var mismatchMessage: String {
        switch match {
        case .contains(let needle): return "response body does not contain \"\(needle)\""
        case .regex(let pattern): return "response body does not match /\(pattern)/"
        }
    }
}
