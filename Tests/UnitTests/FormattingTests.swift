@testable import AgentCore
import Testing

@Suite struct FormattingTests {
    @Test(arguments: [
        ("Nov 25 08:00:00 2026 GMT", Int64(1_795_593_600)), ("Jan  1 00:00:00 1970 GMT", 0),
        ("Feb 29 12:30:15 2028 GMT", 1_835_440_215),
    ])
    func certificateDatesFromCurl(text: String, seconds: Int64) {
        #expect(CertificateDate.parse(text) == seconds)
    }

    @Test func malformedCertificateDatesAreIgnored() {
        for text in ["", "Nov 25 2026", "Foo 25 08:00:00 2026 GMT", "Nov 25 08:00 2026 GMT"] {
            #expect(CertificateDate.parse(text) == nil)
        }
        #expect(CertificateDate.expiry(fromCertificateLines: ["Subject:CN=x", "Expire date:Jan  1 00:00:10 1970 GMT"]) == Timestamp(unixSeconds: 10))
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000Z"), (1_795_593_600_123_456_789, "2026-11-25T08:00:00.123456Z"),
        (-1_000, "1969-12-31T23:59:59.999999Z"),
    ])
    func rfc3339Timestamps(nanoseconds: Int64, text: String) {
        #expect(Timestamp(unixNanoseconds: nanoseconds).rfc3339 == text)
    }

    @Test func jsonLinesEscapeEverythingAndWriteExactSeconds() {
        var line = JSONLine()
        line.add("name", "quote\" backslash\\ newline\n tab\t bell\u{07} ünï")
        line.add("d", seconds: .microseconds(1_234_567))
        line.add("small", seconds: .microseconds(5))
        line.add("absent", nil as String?)
        line.add("ok", true)
        #expect(line.line == #"{"name":"quote\" backslash\\ newline\n tab\t bell\u0007 ünï","d":1.234567,"small":0.000005,"ok":true}"#)
    }

    @Test func phaseTimingsComeFromCurlsCumulativeMarks() {
        func us(_ value: Int64) -> Duration { .microseconds(value) }
        let timings = PhaseTimings(marks: .init(
            nameLookup: us(100), connect: us(300), appConnect: us(1300), preTransfer: us(1350), startTransfer: us(51_350),
            total: us(51_400), redirect: .zero))
        #expect(timings == PhaseTimings(
            resolve: us(100), connect: us(200), tls: us(1000), processing: us(50_000), transfer: us(50), total: us(51_400)))
        let refused = PhaseTimings(marks: .init(
            nameLookup: us(40), connect: .zero, appConnect: .zero, preTransfer: .zero, startTransfer: .zero, total: us(200), redirect: .zero))
        #expect(refused == PhaseTimings(resolve: us(40), total: us(200)))
    }

    @Test func timestampsConvertForEveryWireFormat() {
        let time = Timestamp(unixNanoseconds: 1_795_593_600_123_456_789)
        #expect(time.unixSeconds == 1_795_593_600)
        #expect(time.unixMilliseconds == 1_795_593_600_123)
        #expect(time.unixSecondsText == "1795593600.123456")
        #expect(time.truncated(to: .seconds(60)) == Timestamp(unixSeconds: 1_795_593_600))
        #expect(Timestamp(unixNanoseconds: -1).unixSeconds == -1)
        #expect((time + .seconds(1)) - time == .seconds(1))
        #expect(Duration.microseconds(1_500_000).secondsText == "1.500000")
        #expect(Duration.nanoseconds(1).inMillisecondsRoundedUp == 1, "a timeout is never rounded down to curl's none")
    }
}
