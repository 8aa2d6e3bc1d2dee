/// `${VAR}` and `${VAR:-default}` expansion in config values; `$$` stands for a literal `$`.
///
/// Expansion happens per scalar after YAML parsing, so a variable's value can never change the
/// document's structure and every error still points at the scalar's line.
enum EnvironmentExpansion {
    enum Failure: Error, Equatable {
        case undefined(String)
        case unterminated
    }

    static func expand(_ text: String, environment: [String: String]) throws(Failure) -> String {
        guard text.contains("$") else { return text }
        var output = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let next = text.index(after: index)
            guard character == "$", next < text.endIndex else {
                output.append(character)
                index = next
                continue
            }
            if text[next] == "$" {
                output.append("$")
                index = text.index(after: next)
                continue
            }
            guard text[next] == "{" else {
                output.append(character)
                index = next
                continue
            }
            guard let close = text[next...].firstIndex(of: "}") else { throw .unterminated }
            let body = text[text.index(after: next)..<close]
            let name: Substring
            let fallback: Substring?
            if let range = body.range(of: ":-") {
                name = body[..<range.lowerBound]
                fallback = body[range.upperBound...]
            } else {
                name = body
                fallback = nil
            }
            if let value = environment[String(name)], !(value.isEmpty && fallback != nil) {
                output += value
            } else if let fallback {
                output += fallback
            } else {
                throw .undefined(String(name))
            }
            index = text.index(after: close)
        }
        return output
    }
}
