@testable import AgentCore
import Foundation
import Testing

@Suite struct ConfigWatchPlanTests {
    let start = MonotonicInstant(nanoseconds: 1_000_000_000)
    var plan = ConfigWatchPlan(
        files: [
            .init(path: "/etc/latency-agent/agent.yaml", resolved: "/etc/latency-agent/..2026_12_03_1/agent.yaml"),
            .init(path: "/run/secrets/token", resolved: nil),
        ],
        quiet: .milliseconds(300))

    @Test func watchesEachFilesDirectoryAndWhereItsSymlinkLeads() {
        #expect(plan.directories == ["/etc/latency-agent", "/etc/latency-agent/..2026_12_03_1", "/run/secrets"])
    }

    @Test(arguments: [
        ("/etc/latency-agent", "..data", true),  // the kubelet's swap
        ("/etc/latency-agent", "agent.yaml", true),  // an editor's rename over the file
        ("/etc/latency-agent/..2026_12_03_1", "agent.yaml", true),
        ("/run/secrets", "token", true),
        ("/run/secrets", "..data", true),
        ("/etc/latency-agent", "..data_tmp", false),  // the swap's first step
        ("/etc/latency-agent", "agent.yaml.swp", false),
        ("/run/secrets", "other", false),
        ("/tmp", "agent.yaml", false),
    ])
    func countsOnlyChangesToWhatTheConfigurationReads(directory: String, name: String, counts: Bool) {
        var plan = plan
        let counted = plan.changed(DirectoryChange(directory: directory, name: name), at: start)
        let due = plan.reloadIsDue(at: start + .seconds(1))
        #expect(counted == counts)
        #expect(due == counts)
    }

    @Test func aLostEventQueueCountsAsAChange() {
        var plan = plan
        let counted = plan.changed(DirectoryChange(directory: nil, name: "", overflowed: true), at: start)
        #expect(counted)
    }

    @Test func aBurstOfChangesIsOneReloadOnceItIsQuiet() {
        var plan = plan
        for step in 0..<5 {
            plan.changed(DirectoryChange(directory: "/etc/latency-agent", name: "..data"), at: start + .milliseconds(100 * step))
            let due = plan.reloadIsDue(at: start + .milliseconds(100 * step + 50))
            #expect(!due)
        }
        #expect(plan.wait(at: start + .milliseconds(500), atMost: .seconds(1)) == .milliseconds(200))
        let early = plan.reloadIsDue(at: start + .milliseconds(699))
        let onTime = plan.reloadIsDue(at: start + .milliseconds(700))
        let again = plan.reloadIsDue(at: start + .seconds(5))
        #expect(!early && onTime)
        #expect(!again, "one reload per burst")
        #expect(plan.wait(at: start + .seconds(5), atMost: .milliseconds(250)) == .milliseconds(250))
    }

    @Test func newFilesAfterAReloadReplaceTheWatchedSet() {
        var plan = plan
        plan.setFiles([.init(path: "agent.yaml", resolved: nil)])
        #expect(plan.directories == ["."])
        let counted = plan.changed(DirectoryChange(directory: "/run/secrets", name: "token"), at: start)
        #expect(!counted)
    }

    @Test func inotifyRecordsAreReadBackToBack() {
        func record(watch: Int32, mask: UInt32, name: String, padded: Int) -> [UInt8] {
            func word(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
            var name = Array(name.utf8)
            name += [UInt8](repeating: 0, count: padded - name.count)
            return word(UInt32(bitPattern: watch)) + word(mask) + word(0) + word(UInt32(name.count)) + name
        }
        let bytes = record(watch: 1, mask: 0x80, name: "..data", padded: 16) + record(watch: 2, mask: 0x8000, name: "", padded: 0)
            + record(watch: 3, mask: 0x100, name: "agent.yaml", padded: 16)
        #expect(InotifyEvents.parse(bytes[...]) == [
            .init(watch: 1, mask: 0x80, name: "..data"), .init(watch: 2, mask: 0x8000, name: ""),
            .init(watch: 3, mask: 0x100, name: "agent.yaml"),
        ])
        #expect(InotifyEvents.parse(bytes.dropLast(3)).count == 2, "a cut record is left out, not misread")
    }

    @Test func theLoaderListsEveryFileTheConfigurationReads() throws {
        let directory = NSTemporaryDirectory() + "watch-files-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["token", "ca.pem", "lokitoken"] { try "x\n".write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8) }
        try """
            endpoints:
              - {url: "https://127.0.0.1/", bearer_token_file: \(directory)/token, tls: {ca_file: \(directory)/ca.pem}}
            outputs:
              loki: {url: "http://127.0.0.1:3100/loki/api/v1/push", bearer_token_file: \(directory)/lokitoken}
            """.write(toFile: "\(directory)/agent.yaml", atomically: true, encoding: .utf8)
        let config = try ConfigLoader(environment: [:], hostname: "h").load(path: "\(directory)/agent.yaml")
        #expect(config.sourceFiles.first == "\(directory)/agent.yaml")
        #expect(Set(config.sourceFiles) == Set(["agent.yaml", "token", "ca.pem", "lokitoken"].map { "\(directory)/\($0)" }))
        #expect(config.agent.reloadOnChange, "on by default")
    }
}
