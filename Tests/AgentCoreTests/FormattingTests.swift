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
        #expect(CertificateDate.expiry(fromCertificateLines: ["Subject:CN=x", "Expire date:Jan  1 00:00:10 1970 GMT"]) == 10)
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000Z"), (1_795_593_600_123_456_789, "2026-11-25T08:00:00.123456Z"),
        (-1_000, "1969-12-31T23:59:59.999999Z"),
    ])
    func rfc3339Timestamps(nanoseconds: Int64, text: String) {
        #expect(RFC3339.format(nanoseconds: nanoseconds) == text)
    }

    @Test func jsonLinesEscapeEverythingAndWriteExactSeconds() {
        var line = JSONLine()
        line.add("name", "quote\" backslash\\ newline\n tab\t bell\u{07} ünï")
        line.add("d", microsecondsAsSeconds: 1_234_567)
        line.add("small", microsecondsAsSeconds: 5)
        line.add("absent", nil as String?)
        line.add("ok", true)
        #expect(line.line == #"{"name":"quote\" backslash\\ newline\n tab\t bell\u0007 ünï","d":1.234567,"small":0.000005,"ok":true}"#)
    }

    @Test func phaseTimingsComeFromCurlsCumulativeMarks() {
        let timings = PhaseTimings(marks: .init(
            nameLookup: 100, connect: 300, appConnect: 1300, preTransfer: 1350, startTransfer: 51_350, total: 51_400,
            redirect: 0))
        #expect(timings == PhaseTimings(dns: 100, connect: 200, tls: 1000, processing: 50_000, transfer: 50, redirect: 0, total: 51_400))
        let refused = PhaseTimings(marks: .init(nameLookup: 40, connect: 0, appConnect: 0, preTransfer: 0, startTransfer: 0, total: 200, redirect: 0))
        #expect(refused == PhaseTimings(dns: 40, total: 200))
    }
}
