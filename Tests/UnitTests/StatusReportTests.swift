@testable import AgentCore
import Foundation
import Testing

/// What the status page says beyond the probes: the maintenance window in force, certificate
/// days, an endpoint's labels, and the alert evaluator's progress in its own words.
@Suite struct StatusReportTests {
    static func report(maintenance: Bool, certificateIn days: Int64) -> StatusReport {
        var last = Fixtures.result("api")
        last.certificateExpiry = Fixtures.t0 + .seconds(days * 86_400 + 3600)
        var config = EndpointConfig(name: "api", url: "https://example.com/")
        config.labels = EndpointLabels(["team": "payments"])
        let windows = LatencyWindows()
        return StatusReport(
            agent: AgentConfig(node: "n"), startedAt: Fixtures.t0, now: Fixtures.t0,
            endpoints: [
                StatusReport.Endpoint(
                    config: config, last: last, hour: windows.summary(lastHour: true, now: Fixtures.t0),
                    day: windows.summary(lastHour: false, now: Fixtures.t0), series: [])
            ],
            spool: nil, spoolPath: "/s", outputs: [:], engine: ProbeStatistics(), maintenance: maintenance)
    }

    @Test func theStripShowsTheLatestResultsAndTheChartMarksFailedMinutes() {
        var report = Self.report(maintenance: false, certificateIn: 30)
        report.endpoints[0].recent = [
            StatusBoard.RecentResult(startedAt: Fixtures.t0, total: .milliseconds(12), failure: nil),
            StatusBoard.RecentResult(startedAt: Fixtures.t0 + .seconds(30), total: .milliseconds(250), failure: .timeout),
        ]
        report.now = Fixtures.t0 + .seconds(60)
        report.endpoints[0].series = [
            LatencyWindows.MinutePoint(start: Fixtures.t0, p50: .milliseconds(10), p95: .milliseconds(20), failures: 1)
        ]
        let html = report.html()
        #expect(html.contains("<span class=\"ok\" title=\"") && html.contains("<span class=\"fail\" title=\""))
        #expect(html.contains("· failed: timeout · 250 ms"))
        #expect(html.contains("<rect class=\"failed\"") && html.contains("1 failed at"))
        #expect(html.contains("linear from 0 to 20 ms") && html.contains("failed <span class=\"fail\">■</span> · 1 failed</p>"))
    }

    @Test func maintenanceCertificateDaysAndLabelsAreShown() throws {
        let html = Self.report(maintenance: true, certificateIn: 30).html()
        #expect(html.contains("Maintenance window in force"))
        #expect(html.contains("<div><b>30 d</b><small>certificate left</small></div>"))
        #expect(html.contains("team=payments"))
        let soon = Self.report(maintenance: false, certificateIn: 3).html()
        #expect(!soon.contains("Maintenance window in force") && soon.contains("<div class=\"soon\"><b>3 d</b>"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(Self.report(maintenance: true, certificateIn: 1).json().utf8)) as? [String: Any])
        #expect(json["maintenance_in_force"] as? Bool == true)
        #expect(((json["endpoints"] as? [[String: Any]])?.first?["labels"] as? [String: String]) == ["team": "payments"])
    }
}
