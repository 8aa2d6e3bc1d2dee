extension ProbeResult {
    /// The result as one JSON object: the `run` output, and later the Loki line. Durations are
    /// seconds, named like blackbox_exporter's phases so people can map one onto the other.
    public func jsonLine(node: String?) -> String {
        var phases = JSONLine()
        phases.add("resolve", microsecondsAsSeconds: timings.dns)
        phases.add("connect", microsecondsAsSeconds: timings.connect)
        phases.add("tls", microsecondsAsSeconds: timings.tls)
        phases.add("processing", microsecondsAsSeconds: timings.processing)
        phases.add("transfer", microsecondsAsSeconds: timings.transfer)
        phases.add("redirect", microsecondsAsSeconds: timings.redirect)

        var line = JSONLine()
        line.add("time", RFC3339.format(nanoseconds: startedAt))
        line.add("node", node)
        line.add("endpoint", endpoint)
        line.add("url", url)
        line.add("method", method)
        line.add("success", succeeded)
        line.add("reason", failure?.reason.rawValue)
        line.add("error", failure?.message)
        line.add("status", statusCode == 0 ? nil : statusCode)
        line.add("http_version", httpVersion)
        line.add("duration_seconds", microsecondsAsSeconds: timings.total)
        line.add("phases", object: phases)
        line.add("bytes", bytesReceived)
        line.add("remote_ip", remoteIP)
        line.add("redirects", redirects)
        line.add("cert_expiry", certificateExpiry.map { RFC3339.format(nanoseconds: $0 * 1_000_000_000) })
        line.add("chain_expiry", chainEarliestExpiry.map { RFC3339.format(nanoseconds: $0 * 1_000_000_000) })
        line.add("connection", connection.rawValue)
        return line.line
    }
}
