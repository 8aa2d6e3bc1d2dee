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
