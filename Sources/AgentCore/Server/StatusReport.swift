import Foundation

/// The facts `/status` shows, gathered once per request, rendered as JSON for machines or as
/// an HTML page for people. Nothing in it can hold a secret: URLs are shown without credentials,
/// headers and tokens are never read, errors are the backends' answers.
struct StatusReport {
    struct Endpoint {
        var config: EndpointConfig
        var last: ProbeResult?
        var hour: LatencyWindows.Summary
        var day: LatencyWindows.Summary
        var series: [LatencyWindows.MinutePoint]
        var recent: [StatusBoard.RecentResult] = []
    }

    var agent: AgentConfig
    var startedAt: Timestamp
    var now: Timestamp
    var endpoints: [Endpoint]
    var spool: SpoolStatistics?
    var spoolPath: String
    var outputs: [ReaderName: ReaderHealth.Entry]
    var engine: ProbeStatistics
    /// Alerts firing now, by endpoint.
    var firing: [String: [AlertRule]] = [:]
    var discovery: [DiscoveryStatus.Source] = []
    /// A maintenance window is in force now: alerts are held back.
    var maintenance = false

    // MARK: JSON

    func json() -> String {
        func seconds(_ value: Duration?) -> Any { value.map(\.inSeconds) ?? NSNull() }
        func summary(_ s: LatencyWindows.Summary) -> [String: Any] {
            ["probes": s.probes, "uptime_percent": s.uptimePercent ?? NSNull(), "p50_seconds": seconds(s.p50),
             "p95_seconds": seconds(s.p95), "p99_seconds": seconds(s.p99)]
        }
        let endpoints: [[String: Any]] = endpoints.map { endpoint in
            var entry: [String: Any] = [
                "name": endpoint.config.name, "url": endpoint.config.displayURL, "method": endpoint.config.method,
                "interval_seconds": endpoint.config.interval.inSeconds,
                "last_hour": summary(endpoint.hour), "last_day": summary(endpoint.day),
                "alerts_firing": (firing[endpoint.config.name] ?? []).map(\.rawValue),
                "labels": endpoint.config.labels.dictionary,
            ]
            if let last = endpoint.last {
                entry["last"] = (try? JSONSerialization.jsonObject(with: Data(last.jsonLine(node: nil).utf8))) ?? NSNull()
            }
            return entry
        }
        let readers = Dictionary(uniqueKeysWithValues: (spool?.readers ?? []).map { ($0.reader, $0) })
        let outputNames = Set(readers.keys).union(outputs.keys).sorted { $0.storageKey < $1.storageKey }
        let outputList: [[String: Any]] = outputNames.map { name in
            let health = outputs[name] ?? ReaderHealth.Entry()
            return [
                "name": name.storageKey, "backlog_records": readers[name]?.records ?? 0,
                "backlog_seconds": readers[name]?.age.inSeconds ?? 0,
                "last_success": health.lastSuccess?.rfc3339 ?? NSNull(),
                "last_error": health.lastError ?? NSNull(),
                "last_error_at": health.lastErrorAt?.rfc3339 ?? NSNull(),
                "failures": health.failures, "refused": health.rejected,
            ]
        }
        var document: [String: Any] = [
            "node": agent.node, "job": agent.job, "version": AgentVersion.current,
            "started_at": startedAt.rfc3339, "time": now.rfc3339,
            "endpoints": endpoints, "outputs": outputList,
            "scheduler": [
                "probes": engine.completed, "in_flight": engine.inFlight, "skipped_in_flight": engine.skippedInFlight,
                "skipped_behind": engine.skippedBehind,
                "start_lag_p99_seconds": engine.lagQuantile(0.99).map { $0.inSeconds as Any } ?? NSNull(),
            ],
        ]
        document["maintenance_in_force"] = maintenance
        document["discovery"] = discovery.map { source -> [String: Any] in
            [
                "name": source.name, "kind": source.kind, "targets": source.targets, "refreshes": source.refreshes,
                "failures": source.failures, "last_refresh": source.lastRefresh?.rfc3339 ?? NSNull(),
                "last_success": source.lastSuccess?.rfc3339 ?? NSNull(), "last_error": source.lastError ?? NSNull(),
            ]
        }
        if let spool {
            document["spool"] = [
                "path": spoolPath, "records": spool.records, "bytes": spool.bytes, "max_bytes": spool.maxBytes,
                "dropped": spool.dropped,
            ]
        }
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    // MARK: HTML

    func html() -> String {
        var rows = ""
        for endpoint in endpoints {
            let last = endpoint.last
            let state = last.map { $0.succeeded ? "up" : "down" } ?? "unknown"
            let alerts = (firing[endpoint.config.name] ?? []).map { "⚠ \($0.rawValue)" }.joined(separator: " ")
            let detail = last.map { result in
                result.failure.map { "\($0.reason.rawValue): \($0.message)" } ?? "HTTP \(result.statusCode)"
            } ?? "not probed yet"
            rows += """
                <section class="endpoint \(state)">
                  <header><span class="dot"></span><h2>\(escape(endpoint.config.name))</h2>
                  <span class="url">\(escape(endpoint.config.method)) \(escape(endpoint.config.displayURL))</span>
                  \(endpoint.config.labels.isEmpty ? "" : "<span class=\"labels\">\(escape(endpoint.config.labels.description))</span>")
                  <span class="alerts">\(escape(alerts))</span></header>
                  <div class="facts">
                    <div><b>\(milliseconds(last?.timings.total))</b><small>last probe</small></div>
                    <div><b>\(milliseconds(endpoint.hour.p50)) / \(milliseconds(endpoint.hour.p95)) / \(milliseconds(endpoint.hour.p99))</b><small>p50 / p95 / p99, 1 h</small></div>
                    <div><b>\(percent(endpoint.hour.uptimePercent))</b><small>uptime, 1 h</small></div>
                    <div><b>\(milliseconds(endpoint.day.p95))</b><small>p95, 24 h</small></div>
                    <div><b>\(percent(endpoint.day.uptimePercent))</b><small>uptime, 24 h</small></div>
                    \(certificateDays(last))
                  </div>
                  \(strip(endpoint.recent))
                  \(chart(endpoint.series))
                  <p class="detail">\(escape(detail))\(phases(last))</p>
                </section>

                """
        }
        var outputRows = ""
        for reader in spool?.readers ?? [] {
            let health = outputs[reader.reader] ?? ReaderHealth.Entry()
            let error = health.lastError.map { " · last error: \(escape(String($0.prefix(160))))" } ?? ""
            // The alert evaluator delivers nowhere: it turns results into events for the receivers.
            let verb = reader.reader == .alertEvaluator ? "evaluated" : "delivered"
            let success = health.lastSuccess.map { "last \(verb) \($0.rfc3339.prefix(19))Z" } ?? "nothing \(verb) yet"
            outputRows += "<li><b>\(escape(reader.reader.storageKey))</b>: \(reader.records) behind (\(String(format: "%.1f", reader.age.inSeconds)) s) · \(success)\(error)</li>"
        }
        let discoveryRows = discovery.map { source in
            let refreshed = source.lastRefresh.map { "refreshed \($0.rfc3339.prefix(19))Z" } ?? "not refreshed yet"
            let error = source.lastError.map { " · <span class=\"alerts\">last error: \(escape(String($0.prefix(300))))</span>" } ?? ""
            return "<li><b>\(escape(source.name))</b> (\(source.kind)): \(source.targets) endpoints · \(refreshed)\(error)</li>"
        }.joined()
        let spoolLine = spool.map { stats in
            "spool \(stats.records) records, \(stats.bytes / 1024) of \(stats.maxBytes / 1024) KiB"
                + (stats.dropped.isEmpty ? "" : ", dropped " + stats.dropped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        } ?? ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="15"><title>latency-agent · \(escape(agent.node))</title>
            <style>
            body{font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#0f1419;color:#d8dee9}
            main{max-width:1100px;margin:0 auto;padding:20px}
            h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:0}
            .meta{color:#8a94a6;margin-bottom:16px}
            .endpoint{background:#171c24;border:1px solid #252c38;border-radius:8px;padding:12px 16px;margin:12px 0}
            .endpoint header{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
            .dot{width:10px;height:10px;border-radius:50%;display:inline-block;background:#8a94a6}
            .up .dot{background:#3fb950}.down .dot{background:#f85149}
            .url{color:#8a94a6;font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
            .maintenance{background:#3b2f12;border:1px solid #f0883e;border-radius:6px;padding:8px 12px;color:#f0c36e}
            .soon b{color:#f85149}
            .strip{display:flex;gap:2px;margin:6px 0}.strip span{width:10px;height:14px;border-radius:2px;background:#3fb950}
            .strip span.fail{background:#f85149}.fail{color:#f85149}
            .axis{display:flex;justify-content:space-between;color:#8a94a6;font-size:10px}
            .labels{color:#a5b4fc;font-family:ui-monospace,monospace;font-size:12px}
            .facts{display:flex;gap:24px;flex-wrap:wrap;margin:10px 0}
            .facts b{display:block;font-size:15px}.facts small{color:#8a94a6}
            .detail{color:#8a94a6;font-size:12px;margin:6px 0 0}.alerts{color:#f0883e;font-size:12px}
            svg{width:100%;height:60px;background:#11161d;border-radius:4px;display:block}
            .chart-caption{color:#8a94a6;font-size:11px;margin:2px 0 0}.p50{color:#58a6ff}.p95{color:#f0883e}
            ul{padding-left:18px}
            </style></head><body><main>
            <h1>latency-agent on \(escape(agent.node))</h1>
            \(maintenance ? "<p class=\"maintenance\">Maintenance window in force: alerts are held back until it ends.</p>" : "")
            <div class="meta">job \(escape(agent.job)) · version \(AgentVersion.current) · up since \(startedAt.rfc3339.prefix(19))Z · \(engine.completed) probes, \(engine.inFlight) in flight · \(escape(spoolLine))</div>
            \(rows)
            \(discovery.isEmpty ? "" : "<h2>Discovery</h2><ul>\(discoveryRows)</ul>")
            <h2>Outputs</h2><ul>\(outputRows.isEmpty ? "<li>none configured</li>" : outputRows)</ul>
            </main></body></html>

            """
    }

    /// One bar per minute of the last hour: p95 (orange) behind p50 (blue), on a linear scale
    /// from zero to the hour's highest p95. Bars stay readable when the SVG is stretched to width.
    private func chart(_ series: [LatencyWindows.MinutePoint]) -> String {
        let top = series.compactMap(\.p95).max()?.inSeconds ?? 0
        let failed = series.reduce(0) { $0 + $1.failures }
        guard top > 0 || failed > 0 else { return "<p class=\"chart-caption\">no probe in the last hour</p>" }
        let width = 600.0, height = 60.0, slot = width / 60
        let start = now - LatencyWindows.hour
        var bars = ""
        for point in series {
            let x = (point.start - start).inSeconds / LatencyWindows.hour.inSeconds * width
            // A minute with failures gets a red mark along the top, whatever its latency.
            if point.failures > 0 {
                bars += String(
                    format: "<rect class=\"failed\" x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"4\" fill=\"#f85149\"><title>%d failed at %@Z</title></rect>",
                    x, slot - 1, point.failures, String(point.start.rfc3339.prefix(16)))
            }
            for (value, color) in [(point.p95, "#f0883e"), (point.p50, "#58a6ff")] {
                guard let value, top > 0 else { continue }
                let barHeight = max(1, value.inSeconds / top * (height - 2))
                bars += String(
                    format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"/>",
                    x, height - barHeight, slot - 1, barHeight, color)
            }
        }
        return """
            <svg viewBox="0 0 600 60" preserveAspectRatio="none" role="img" aria-label="latency per minute over the last hour">\(bars)</svg>
            <div class="axis"><span>−60 min</span><span>−45</span><span>−30</span><span>−15</span><span>now</span></div>
            <p class="chart-caption">last hour, per minute, linear from 0 to \(milliseconds(Duration(seconds: top))): p50 <span class="p50">■</span> p95 <span class="p95">■</span> failed <span class="fail">■</span>\(failed > 0 ? " · \(failed) failed" : "")</p>
            """
    }

    /// The latest results, oldest first: green or red, with when, how long and why on hover.
    private func strip(_ recent: [StatusBoard.RecentResult]) -> String {
        guard !recent.isEmpty else { return "" }
        let cells = recent.map { result in
            let what = result.failure.map { "failed: \($0.rawValue)" } ?? "ok"
            let title = "\(result.startedAt.rfc3339.prefix(19))Z · \(what) · \(milliseconds(result.total))"
            return "<span class=\"\(result.failure == nil ? "ok" : "fail")\" title=\"\(escape(title))\"></span>"
        }
        return "<div class=\"strip\" aria-label=\"latest results, oldest first\">\(cells.joined())</div>"
    }

    /// Days until the server certificate expires, red within 14 days (or once expired).
    private func certificateDays(_ result: ProbeResult?) -> String {
        guard let expiry = result?.certificateExpiry else { return "" }
        let days = Int(((expiry - now).inSeconds / 86_400).rounded(.down))
        let soon = days < 14 ? " class=\"soon\"" : ""
        return "<div\(soon)><b>\(days) d</b><small>certificate left</small></div>"
    }

    private func phases(_ result: ProbeResult?) -> String {
        guard let timings = result?.timings else { return "" }
        return " · " + Phase.allCases.compactMap { phase in timings[phase].map { "\(phase.rawValue) \(milliseconds($0))" } }
            .joined(separator: " · ")
    }

    private func milliseconds(_ value: Duration?) -> String {
        guard let value else { return "–" }
        let ms = value.inMilliseconds
        return ms >= 10 ? String(format: "%.0f ms", ms) : String(format: "%.2f ms", ms)
    }

    private func percent(_ value: Double?) -> String {
        value.map { String(format: "%.2f %%", $0) } ?? "–"
    }

    func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
