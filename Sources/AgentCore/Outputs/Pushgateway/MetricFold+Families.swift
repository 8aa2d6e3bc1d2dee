extension MetricFold {
    /// The fold as metric families: the seed's `api_*` metrics and blackbox-style `probe_*` ones,
    /// each labelled `endpoint` and with the endpoint's own labels. Endpoints are sorted, so equal folds render byte-identical bodies.
    ///
    /// Endpoints outside `configured` (removed by a reload, kept until `forget`) contribute only
    /// their counters and histograms: their last-probe gauges describe nothing that still exists.
    /// With `targetAsInstance`, each endpoint's series also carry `instance`, its probed target
    /// as blackbox_exporter's scrapes name it.
    public func metricFamilies(configured: Set<String>? = nil, targetAsInstance: Bool = false) -> [MetricFamily] {
        var requests = MetricFamily(name: "api_requests_total", help: "Probes made, by outcome.", kind: .counter)
        var latency = MetricFamily(
            name: "api_latency_seconds", help: "Duration of successful probes in seconds.", kind: .histogram)
        var uptime = MetricFamily(
            name: "api_uptime_percent", help: "Share of successful probes over the uptime window, in percent.",
            kind: .gauge)
        var success = MetricFamily(name: "probe_success", help: "Whether the last probe succeeded.", kind: .gauge)
        var duration = MetricFamily(
            name: "probe_duration_seconds", help: "Duration of the last probe in seconds.", kind: .gauge)
        var status = MetricFamily(
            name: "probe_http_status_code", help: "HTTP status code of the last probe (0 without a response).",
            kind: .gauge)
        var phases = MetricFamily(
            name: "probe_http_duration_seconds", help: "Duration of each phase of the last probe in seconds.",
            kind: .gauge)
        var phaseHistograms = MetricFamily(
            name: "probe_phase_duration_seconds", help: "Duration of each phase of successful probes in seconds.",
            kind: .histogram)
        var expiry = MetricFamily(
            name: "probe_ssl_earliest_cert_expiry",
            help: "Expiry of the earliest-expiring certificate of the chain, Unix seconds.", kind: .gauge)
        var failures = MetricFamily(name: "probe_failures_total", help: "Failed probes by reason.", kind: .counter)
        var lastTime = MetricFamily(
            name: "probe_last_timestamp_seconds", help: "Start of the last probe, Unix seconds.", kind: .gauge)
        var info = MetricFamily(
            name: "probe_endpoint_info", help: "The URL and method of each endpoint (credentials removed).",
            kind: .gauge)
        // blackbox_exporter's names, so its users' dashboards and rules read these unchanged.
        var dnsLookup = MetricFamily(
            name: "probe_dns_lookup_time_seconds", help: "Name resolution time of the last probe in seconds.", kind: .gauge)
        var ssl = MetricFamily(name: "probe_http_ssl", help: "Whether the last probe used TLS.", kind: .gauge)
        var version = MetricFamily(
            name: "probe_http_version", help: "HTTP version of the last probe's response (0 without one).", kind: .gauge)
        var redirects = MetricFamily(name: "probe_http_redirects", help: "Redirects the last probe followed.", kind: .gauge)
        var ipProtocol = MetricFamily(
            name: "probe_ip_protocol", help: "IP version of the address the last probe reached (0: none).", kind: .gauge)
        var regex = MetricFamily(
            name: "probe_failed_due_to_regex", help: "Whether the last probe failed on a body or query_response pattern.", kind: .gauge)
        var contentLength = MetricFamily(
            name: "probe_http_content_length", help: "Content-Length of the last probe's response (-1: none sent).",
            kind: .gauge)
        var tlsVersion = MetricFamily(
            name: "probe_tls_version_info", help: "TLS version of the last probe's handshake, as the version label.",
            kind: .gauge)
        var tlsCipher = MetricFamily(
            name: "probe_tls_cipher_info", help: "Cipher of the last probe's TLS handshake, as the cipher label.",
            kind: .gauge)
        var lastChain = MetricFamily(
            name: "probe_ssl_last_chain_expiry_timestamp_seconds",
            help: "Earliest expiry in the chain of the last probe's handshake, Unix seconds.", kind: .gauge)
        var kindFamilies = KindFamilies()

        for name in endpoints.keys.sorted() {
            let metrics = endpoints[name]!
            let label =
                [(name: "endpoint", value: name)]
                + (targetAsInstance ? [(name: "instance", value: ProbeKind.blackboxTarget(metrics.url))] : [])
                + metrics.labels.asLabels
            requests.samples.append(.init(labels: label + [("status", "success")], value: "\(metrics.successes)"))
            requests.samples.append(.init(labels: label + [("status", "failure")], value: "\(metrics.failures)"))
            latency.addHistogram(labels: label, bounds: buckets, counts: metrics.latency.counts, sum: metrics.latency.sum)
            for (index, phase) in Phase.allCases.enumerated() where index < metrics.phases.count {
                // Only phases this endpoint has gone through: no TLS histogram for plain HTTP.
                if metrics.phases[index].counts.contains(where: { $0 > 0 }) {
                    phaseHistograms.addHistogram(
                        labels: label + [("phase", phase.rawValue)], bounds: phaseBuckets, counts: metrics.phases[index].counts,
                        sum: metrics.phases[index].sum)
                }
            }
            // A reason's series appears with its first failure: nine zero series per endpoint would
            // cost the gateway more than `increase()` loses on a counter's first sample.
            for reason in FailureReason.allCases {
                if let count = metrics.failuresByReason[reason.rawValue] {
                    failures.samples.append(.init(labels: label + [("reason", reason.rawValue)], value: "\(count)"))
                }
            }
            if let configured, !configured.contains(name) { continue }
            let window = metrics.uptime.reduce((0, 0)) { ($0.0 + $1.succeeded, $0.1 + $1.total) }
            uptime.samples.append(.init(labels: label, value: Self.percent(window.0, of: window.1)))
            success.samples.append(.init(labels: label, value: metrics.last.success ? "1" : "0"))
            duration.samples.append(.init(labels: label, value: metrics.last.total.secondsText))
            if ProbeKind(method: metrics.method) == .http {
                status.samples.append(.init(labels: label, value: "\(metrics.last.statusCode)"))
                for (index, phase) in Phase.allCases.enumerated() {
                    let value = index < metrics.last.phases.count ? metrics.last.phases[index] : nil
                    phases.samples.append(.init(labels: label + [("phase", phase.rawValue)], value: (value ?? .zero).secondsText))
                }
            }
            if let chain = metrics.chainEarliestExpiry {
                expiry.samples.append(.init(labels: label, value: "\(chain.unixSeconds)"))
            }
            lastTime.samples.append(.init(labels: label, value: metrics.last.startedAt.unixSecondsText))
            let details = metrics.last.details
            let resolve = metrics.last.phases.first ?? nil
            dnsLookup.samples.append(.init(labels: label, value: (resolve ?? .zero).secondsText))
            ipProtocol.samples.append(.init(labels: label, value: "\(details.ipProtocol)"))
            if let tls = details.probe.tlsVersion {
                tlsVersion.samples.append(.init(labels: label + [("version", tls)], value: "1"))
            }
            if let cipher = details.probe.tlsCipher {
                tlsCipher.samples.append(.init(labels: label + [("cipher", cipher)], value: "1"))
            }
            if details.usedTLS, metrics.last.success, let chain = metrics.chainEarliestExpiry {
                lastChain.samples.append(.init(labels: label, value: "\(chain.unixSeconds)"))
            }
            let kind = ProbeKind(method: metrics.method)
            if kind == .http {
                ssl.samples.append(.init(labels: label, value: details.usedTLS ? "1" : "0"))
                version.samples.append(.init(labels: label, value: details.httpVersion ?? "0"))
                redirects.samples.append(.init(labels: label, value: "\(details.redirects)"))
                contentLength.samples.append(.init(labels: label, value: "\(details.probe.contentLength ?? -1)"))
            }
            if kind == .http || kind == .tcp {
                regex.samples.append(.init(labels: label, value: details.failedDueToRegex ? "1" : "0"))
            }
            kindFamilies.add(kind, metrics.last, labels: label)
            info.samples.append(.init(labels: label + [("url", metrics.url), ("method", metrics.method)], value: "1"))
        }
        return [
            requests, latency, uptime, success, duration, status, phases, phaseHistograms, expiry, failures, lastTime,
            info, dnsLookup, ssl, version, redirects, ipProtocol, regex, contentLength, tlsVersion, tlsCipher, lastChain,
        ] + kindFamilies.all
    }

    /// A percentage with two decimals, computed in integers so it is exact and reproducible.
    static func percent(_ part: UInt64, of whole: UInt64) -> String {
        guard whole > 0 else { return "100" }
        let hundredths = (part * 10_000 + whole / 2) / whole
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
