import NIOCore
import NIOHTTP1

extension ChannelInboundHandler where OutboundOut == HTTPServerResponsePart {
    /// Writes a whole response with a Content-Length, as every test server here answers.
    func writeResponse(
        _ status: HTTPResponseStatus, body: String, headers: [(String, String)] = [], context: ChannelHandlerContext
    ) {
        var fields = HTTPHeaders(headers)
        fields.add(name: "Content-Length", value: "\(body.utf8.count)")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// Collects a request's head and body, then answers with what `answer` returns: the shape of
/// every stand-in here (Loki, Slack).
final class BufferedRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    typealias Answer = @Sendable (HTTPRequestHead, ByteBuffer) -> (status: Int, body: String, headers: [(String, String)])

    private let answer: Answer
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()

    init(answer: @escaping Answer) {
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            guard let head else { return }
            let (status, text, headers) = answer(head, body)
            writeResponse(.init(statusCode: status), body: text, headers: headers, context: context)
        }
    }
}
