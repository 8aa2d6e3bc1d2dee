import AgentCore
import Foundation

/// The `probe` command's human-readable rendering of one result.
enum PhaseTable {
    static func render(_ result: ProbeResult, index: Int, of count: Int) -> String {
        var lines: [String] = []
        let title = count > 1 ? "probe \(index)/\(count)  " : ""
        var summary = "\(title)\(result.method) \(result.url)"
        if result.statusCode > 0 {
            summary += "  →  \(result.statusCode) HTTP/\(result.httpVersion ?? "?")"
        }
        if let ip = result.remoteIP { summary += " from \(ip)" }
        if ProbeKind(method: result.method) == .http || result.bytesReceived > 0 { summary += ", \(result.bytesReceived) bytes" }
        if let dns = result.details.dns {
            summary += ", \(dns.responseCode) with \(dns.answers) answers"
        }
        if let icmp = result.details.icmp {
            summary += ", \(icmp.received) of \(icmp.sent) echo replies"
            if let hopLimit = icmp.replyHopLimit { summary += " (hop limit \(hopLimit))" }
        }
        if let grpc = result.details.grpc, let serving = grpc.servingStatus { summary += ", \(serving.name)" }
        if let version = result.details.tlsVersion { summary += ", \(version) \(result.details.tlsCipher ?? "")" }
        if result.redirects > 0 { summary += ", \(result.redirects) redirects" }
        lines.append(summary)
        let timings = result.timings
        // Every phase reached, and where a failed probe stopped; not the ones it had no use for
        // (TLS of plain HTTP, the dialogue of a bare TCP connect).
        let phases = ProbeKind(method: result.method).phases
        for (index, (phase, name)) in phases.enumerated() {
            let laterReached = phases[(index + 1)...].contains { timings[$0.phase] != nil }
            let stoppedHere = !result.succeeded && !laterReached && !phases[..<index].contains { timings[$0.phase] == nil }
            guard timings[phase] != nil || stoppedHere else { continue }
            lines.append("  \(name.padding(toLength: 15, withPad: " ", startingAt: 0))\(milliseconds(timings[phase]))")
        }
        if timings.redirect > .zero { lines.append("  redirect       \(milliseconds(timings.redirect))") }
        lines.append("  total          \(milliseconds(timings.total))  (\(result.connection.rawValue) connection)")
        if let expiry = result.certificateExpiry {
            let days = (expiry - Timestamp.now).inDays
            var text = "  cert           expires \(expiry.rfc3339.prefix(10))" + String(format: " (in %.1f days)", days)
            if let chain = result.chainEarliestExpiry, chain < expiry {
                text += ", chain earliest \(chain.rfc3339.prefix(10))"
            }
            lines.append(text)
        }
        if let failure = result.failure {
            lines.append("  FAILED         \(failure.reason.rawValue): \(failure.message)")
        } else {
            lines.append("  OK")
        }
        return lines.joined(separator: "\n")
    }

    private static func milliseconds(_ value: Duration?) -> String {
        guard let value else { return "         -" }
        return String(format: "%10.3f ms", value.inMilliseconds)
    }
}
