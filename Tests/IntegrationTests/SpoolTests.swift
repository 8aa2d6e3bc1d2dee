import AgentCore
import Foundation
import Logging
import TestSupport
import Testing

/// The spool on a real LMDB environment in a temporary directory.
@Suite struct SpoolTests {
    static func result(_ index: Int, endpoint: String = "api", at startedAt: Timestamp = .now) -> ProbeResult {
        func us(_ value: Int64) -> Duration { .microseconds(value) }
        return ProbeResult(
            endpoint: endpoint, url: "https://example.com/\(index)", method: "GET", connection: .cold,
            startedAt: startedAt, timings: PhaseTimings(resolve: us(10), connect: us(20), tls: us(30), processing: us(40), transfer: us(5), total: us(105)),
            statusCode: 200, httpVersion: "2", bytesReceived: 2, remoteIP: "127.0.0.1", certificateExpiry: Timestamp(unixSeconds: 1_900_000_000),
            chainEarliestExpiry: Timestamp(unixSeconds: 1_800_000_000))
    }

    static let a = ReaderName.pushgateway
    static let b = ReaderName.loki

    func open(_ path: String, readers: [ReaderName] = [SpoolTests.a, SpoolTests.b], maxSize: Int = 64 << 20, retain: Duration = .seconds(3600))
        throws -> Spool
    {
        try Spool(config: SpoolConfig(path: path, maxSize: maxSize, retain: retain), readers: readers, logger: Logger(label: "test"))
    }

    @Test func resultsComeBackInOrderAndSurviveAReopen() async throws {
        let path = TestEnvironment.temporaryDirectory("spool")
        var hostile = Self.result(0, endpoint: "quote\" backslash\\ newline\n ünï 🚀")
        hostile.failure = ProbeFailure(reason: .tls, message: "SSL certificate problem: \"expired\"")
        hostile.timings = PhaseTimings(resolve: .microseconds(12), total: .microseconds(99))
        hostile.httpVersion = nil
        let written = [hostile] + (1...999).map { Self.result($0) }
        try await withDeadline(seconds: 20) {
            let spool = try self.open(path)
            for result in written { spool.append(result) }
            try await spool.flush()
            #expect(spool.lastSequence == 1000)
            await spool.close()
        }
        let reopened = try open(path)
        let records = try reopened.results(after: 0, limit: 5000)
        #expect(records.map(\.sequence) == Array(1...1000))
        #expect(records.map(\.value) == written)
        #expect(try reopened.results(after: 990, limit: 5).map(\.sequence) == [991, 992, 993, 994, 995])
        try await withDeadline(seconds: 10) {
            reopened.append(Self.result(1000))
            try await reopened.flush()
            #expect(reopened.lastSequence == 1001, "numbering continues after a restart")
            await reopened.close()
        }
    }

    @Test func aReaderCommitsCursorAndStateTogetherAndReadersAreIndependent() async throws {
        let path = TestEnvironment.temporaryDirectory("spool")
        try await withDeadline(seconds: 20) {
            let spool = try self.open(path)
            for index in 1...10 { spool.append(Self.result(index)) }
            try await spool.flush()
            try await spool.commit(Self.a, cursor: 7, state: [1, 2, 3])
            let stats = try spool.statistics(readers: [Self.a, Self.b])
            #expect(stats.readers.map(\.records) == [3, 10], "reader b has handled nothing; its backlog is all 10")
            await spool.close()
        }
        let reopened = try open(path)
        #expect(try reopened.position(of: Self.a).cursor == 7)
        #expect(try reopened.position(of: Self.a).state == [1, 2, 3])
        #expect(try reopened.position(of: Self.b).cursor == 0)
        #expect(try reopened.position(of: Self.b).state == nil)
        await reopened.close()
    }

    @Test func retentionDeletesOnlyWhatEveryReaderPassedAndIsOld() async throws {
        let path = TestEnvironment.temporaryDirectory("spool")
        let old = Timestamp.now - .seconds(7200)
        try await withDeadline(seconds: 30) {
            let spool = try self.open(path, retain: .seconds(3600))
            for index in 1...20 { spool.append(Self.result(index, at: old)) }
            for index in 21...30 { spool.append(Self.result(index)) }
            try await spool.flush()
            try await spool.commit(Self.a, cursor: 30, state: nil)
            try await spool.commit(Self.b, cursor: 15, state: nil)
            // The writer trims once a second: records 1…15 are old and passed by both readers.
            let remaining = try await TestEnvironment.eventually(seconds: 10, "retention trim") {
                let oldest = try spool.statistics(readers: []).oldest?.sequence ?? 0
                return oldest == 16 ? try spool.statistics(readers: []).records : nil
            }
            #expect(remaining == 15, "16…20 are old but unread by b; 21…30 are recent")
            await spool.close()
        }
    }

    @Test func aFullSpoolDropsTheOldestCountsThemAndKeepsAccepting() async throws {
        let path = TestEnvironment.temporaryDirectory("spool")
        try await withDeadline(seconds: 60) {
            let spool = try self.open(path, readers: [.alertEvaluator], maxSize: 1 << 20)
            var written = 0
            for round in 0..<20 {
                for index in 0..<1000 { spool.append(Self.result(round * 1000 + index)) }
                written += 1000
                try await spool.flush()
            }
            let stats = try spool.statistics(readers: [])
            let dropped = stats.dropped(.full)
            #expect(dropped > 0, "1 MiB cannot hold 20,000 records")
            #expect(UInt64(stats.records) + dropped == UInt64(written), "every record is either kept or counted as dropped")
            #expect(stats.newest?.sequence == UInt64(written), "the newest results are the ones kept")
            #expect(stats.bytes <= 1 << 20)
            // Still accepting and readable after the cap was hit.
            spool.append(Self.result(-1))
            try await spool.flush()
            #expect(spool.lastSequence == UInt64(written + 1))
            let tail = try spool.results(after: UInt64(written - 5), limit: 10)
            #expect(tail.count == 6)
            await spool.close()
        }
        let size = try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as? Int ?? 0
        #expect(size <= 1 << 20, "the file never grows past spool.max_size")
    }

    @Test func aMissingDirectoryIsCreatedAndAnUnwritableOneIsAClearError() throws {
        let nested = TestEnvironment.temporaryDirectory("spool") + "/a/b/c"
        _ = try open(nested)
        #expect(FileManager.default.fileExists(atPath: nested + "/data.mdb"))
        var config = Configuration(agent: AgentConfig(node: "n"), endpoints: [])
        config.spool.path = "/proc/latency-agent-cannot-write-here"
        #expect {
            _ = try Agent.openSpool(config, logger: Logger(label: "test"))
        } throws: { error in
            "\(error)".contains("cannot open the spool at /proc/latency-agent-cannot-write-here")
        }
    }
}
