extension ProbeResult {
    /// The result as one JSON object: the `run` output, `spool tail`, `/status`, and the Loki
    /// line. Durations are seconds, and phases have the names blackbox_exporter gives them for
    /// the probe's kind (`request` of a DNS query, `rtt` of an echo).
    public func jsonLine(node: String?) -> String {
        String(decoding: jsonLineBytes(node: node), as: UTF8.self)
    }

    /// The same line as UTF-8 bytes, for outputs that send bytes.
    public func jsonLineBytes(node: String?) -> [UInt8] {
        let kind = ProbeKind(method: method)
        var phases = JSONLine()
        for (phase, name) in kind.phases { phases.add(name, seconds: timings[phase]) }
        if kind == .http { phases.add("redirect", seconds: timings.redirect) }

        var line = JSONLine()
        line.add("time", startedAt.rfc3339)
        line.add("node", node)
        line.add("endpoint", endpoint)
        line.add("url", url)
        line.add("method", method)
        line.add("success", succeeded)
        line.add("reason", failure?.reason.rawValue)
        line.add("error", failure?.message)
        line.add("status", statusCode == 0 ? nil : statusCode)
        line.add("http_version", httpVersion)
        line.add("duration_seconds", seconds: timings.total)
        line.add("phases", object: phases)
        line.add("bytes", bytesReceived)
        line.add("remote_ip", remoteIP)
        line.add("redirects", redirects)
        line.add("cert_expiry", certificateExpiry?.rfc3339)
        line.add("chain_expiry", chainEarliestExpiry?.rfc3339)
        line.add("connection", connection.rawValue)
        line.add("tls_version", details.tlsVersion)
        line.add("tls_cipher", details.tlsCipher)
        line.add("content_length", details.contentLength)
        if let dns = details.dns {
            var part = JSONLine()
            part.add("rcode", dns.responseCode.description)
            part.add("answer_rrs", dns.answers)
            part.add("authority_rrs", dns.authority)
            part.add("additional_rrs", dns.additional)
            line.add("dns", object: part)
        }
        if let icmp = details.icmp {
            var part = JSONLine()
            part.add("sent", icmp.sent)
            part.add("received", icmp.received)
            part.add("reply_hop_limit", icmp.replyHopLimit)
            line.add("icmp", object: part)
        }
        if let grpc = details.grpc {
            var part = JSONLine()
            part.add("status_code", grpc.statusCode)
            part.add("serving_status", grpc.servingStatus?.name)
            line.add("grpc", object: part)
        }
        return line.lineBytes
    }
}
