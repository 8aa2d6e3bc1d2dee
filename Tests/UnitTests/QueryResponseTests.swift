@testable import AgentCore
import Testing

/// The `query_response` dialogue's rules, without a socket: lines split across reads, CRLF,
/// a last line cut by the peer's close, the receive limit, and the order of sends.
@Suite struct QueryResponseTests {
    func dialogue(_ steps: [TCPOptions.QueryStep], limit: Int = 1024) -> QueryResponse {
        QueryResponse(steps.map(QueryResponse.Step.init), limit: limit)
    }

    @Test func expectWaitsForAWholeMatchingLineThenSendsWithANewline() {
        var talk = dialogue([.init(expect: "^220 ", send: "HELO x\r"), .init(expect: "^250")])
        #expect(talk.next() == .receive)
        talk.receive(Array("220-first line\r\n22".utf8))
        #expect(talk.next() == .receive, "a line that does not match is passed over; half a line waits")
        talk.receive(Array("0 ready\r\n".utf8))
        #expect(talk.next() == .send(Array("HELO x\r\n".utf8)))
        #expect(talk.next() == .send(Array("HELO x\r\n".utf8)), "the send stands until it went out")
        talk.didSend()
        #expect(talk.next() == .receive)
        talk.receive(Array("250 ok\n".utf8))
        #expect(talk.next() == .done)
        #expect(talk.received == 34)
    }

    @Test func aLastLineWithoutNewlineCountsOnceThePeerCloses() {
        var talk = dialogue([.init(expect: "^OK$")])
        talk.receive(Array("OK".utf8))
        #expect(talk.next() == .receive)
        talk.peerClosed()
        #expect(talk.next() == .done)
    }

    @Test func closeOrTooMuchWithoutAMatchFailsNamingStepAndLine() {
        var closed = dialogue([.init(send: "PING"), .init(expect: "PONG")])
        #expect(closed.next() == .send(Array("PING\n".utf8)))
        closed.didSend()
        closed.receive(Array("-ERR unknown\r\n".utf8))
        closed.peerClosed()
        #expect(
            closed.next() == .failed("query_response step 2: the connection closed before a line matched expect /PONG/; the last line was \"-ERR unknown\""))
        var flood = dialogue([.init(expect: "never")], limit: 10)
        flood.receive(Array("0123456789\n0123".utf8))
        #expect(flood.next() == .failed("query_response step 1: 15 bytes arrived before a line matched expect /never/; the last line was \"0123456789\""))
        var silent = dialogue([.init(expect: "^220")])
        #expect(silent.next() == .receive)
        #expect(silent.timeoutMessage == "query_response step 1: the timeout passed before a line matched expect /^220/; no line arrived")
    }

    @Test func sendOnlyStepsGoOutInOrder() {
        var talk = dialogue([.init(send: "a"), .init(send: "b")])
        #expect(talk.next() == .send(Array("a\n".utf8)))
        talk.didSend()
        #expect(talk.next() == .send(Array("b\n".utf8)))
        talk.didSend()
        #expect(talk.next() == .done)
    }
}
