import CCurl

/// Owns one libcurl easy handle: typed option setters and info getters over the C shim.
///
/// Confined to one thread (the probe loop's, or an output's `IOThread`), checked on every use.
final class CurlEasy {
    let handle: UnsafeMutableRawPointer
    let confinement = ThreadConfinement()

    /// Which transfer a multi handle's completion belongs to, without handing out the pointer.
    struct ID: Hashable {
        let handle: UnsafeMutableRawPointer
    }

    var id: ID { ID(handle: handle) }

    init() {
        CurlGlobal.ensureInitialized()
        guard let handle = curl_easy_init() else {
            preconditionFailure("curl_easy_init returned NULL: out of memory")
        }
        self.handle = handle
    }

    deinit {
        curl_easy_cleanup(handle)
    }

    func set(_ option: CURLoption, _ value: Int) throws(CurlError) {
        confinement.check("a libcurl easy handle")
        try check(ccurl_easy_setopt_long(handle, option, value), option)
    }

    func set(_ option: CURLoption, _ value: Bool) throws(CurlError) {
        try set(option, value ? 1 : 0)
    }

    func set(_ option: CURLoption, offset value: Int64) throws(CurlError) {
        confinement.check("a libcurl easy handle")
        try check(ccurl_easy_setopt_off_t(handle, option, curl_off_t(value)), option)
    }

    /// libcurl copies string options (since 7.17), so the Swift string need not outlive the call.
    func set(_ option: CURLoption, _ value: String) throws(CurlError) {
        confinement.check("a libcurl easy handle")
        try check(ccurl_easy_setopt_string(handle, option, value), option)
    }

    func set(_ option: CURLoption, pointer value: UnsafeMutableRawPointer?) throws(CurlError) {
        confinement.check("a libcurl easy handle")
        try check(ccurl_easy_setopt_pointer(handle, option, value), option)
    }

    /// The list must outlive every transfer of this handle; the caller keeps it.
    func set(_ option: CURLoption, list: CurlStringList) throws(CurlError) {
        confinement.check("a libcurl easy handle")
        try check(ccurl_easy_setopt_slist(handle, option, list.pointer), option)
    }

    func set(_ option: CURLoption, callback: ccurl_data_callback) throws(CurlError) {
        confinement.check("a libcurl easy handle")
        try check(ccurl_easy_setopt_data_callback(handle, option, callback), option)
    }

    func set(openSocket callback: ccurl_opensocket_callback) throws(CurlError) {
        confinement.check("a libcurl easy handle")
        try check(ccurl_easy_setopt_opensocket_callback(handle, callback), CURLOPT_OPENSOCKETFUNCTION)
    }

    /// Sets a request body of raw bytes; libcurl copies them.
    func setRequestBody(_ body: [UInt8]) throws(CurlError) {
        try set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(body.count))
        let code = body.withUnsafeBytes { bytes in
            ccurl_easy_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
        }
        guard code == CURLE_OK else { throw CurlError("setting the request body", code: code) }
    }

    func reset() {
        confinement.check("a libcurl easy handle")
        curl_easy_reset(handle)
    }

    /// Runs the configured request to completion on the calling thread.
    func perform() -> CURLcode {
        confinement.check("a libcurl easy handle")
        return curl_easy_perform(handle)
    }

    func int(_ info: CURLINFO) -> Int {
        var value = 0
        return ccurl_easy_getinfo_long(handle, info, &value) == CURLE_OK ? value : 0
    }

    func duration(_ info: CURLINFO) -> Duration {
        var value: curl_off_t = 0
        return ccurl_easy_getinfo_off_t(handle, info, &value) == CURLE_OK ? .microseconds(Int64(value)) : .zero
    }

    /// A size libcurl reports (`CURLINFO_CONTENT_LENGTH_DOWNLOAD_T`); -1 when unknown.
    func size(_ info: CURLINFO) -> Int64 {
        var value: curl_off_t = -1
        return ccurl_easy_getinfo_off_t(handle, info, &value) == CURLE_OK ? Int64(value) : -1
    }

    /// Has every TLS handshake of this handle write its protocol and cipher into `facts`.
    /// Not fatal when libcurl's TLS library is not OpenSSL: the facts then stay empty.
    func recordTLS(into facts: UnsafeMutablePointer<ccurl_tls_facts>) {
        confinement.check("a libcurl easy handle")
        _ = ccurl_easy_record_tls(handle, facts)
    }

    /// Every value of a response header of the last response (`Retry-After`, a header a
    /// condition checks), in order; none when absent.
    func responseHeader(_ name: String) -> [String] {
        confinement.check("a libcurl easy handle")
        var values: [String] = []
        while values.count < 100, let value = ccurl_response_header(handle, name, values.count) {
            values.append(String(cString: value))
        }
        return values
    }

    func string(_ info: CURLINFO) -> String? {
        var value: UnsafePointer<CChar>?
        guard ccurl_easy_getinfo_string(handle, info, &value) == CURLE_OK, let value else {
            return nil
        }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// The server's certificate chain as libcurl describes it (`CURLOPT_CERTINFO`): one array of
    /// `Name:value` lines per certificate, leaf first. Empty when no TLS handshake happened.
    func certificateChain() -> [[String]] {
        var info: UnsafeMutablePointer<curl_certinfo>?
        guard ccurl_easy_getinfo_certinfo(handle, &info) == CURLE_OK, let info,
            let lists = info.pointee.certinfo
        else { return [] }
        return (0..<Int(info.pointee.num_of_certs)).map { index in
            var lines: [String] = []
            var node = lists[index]
            while let current = node {
                if let data = current.pointee.data { lines.append(String(cString: data)) }
                node = current.pointee.next
            }
            return lines
        }
    }

    /// The socket of a `CURLOPT_CONNECT_ONLY` transfer's connection, kept open for `send` and
    /// `receive` while the handle stays in its multi handle (removing it closes the connection).
    var connectedSocket: Int32? {
        var socket = CURL_SOCKET_BAD
        guard ccurl_easy_getinfo_socket(handle, CURLINFO_ACTIVESOCKET, &socket) == CURLE_OK, socket != CURL_SOCKET_BAD
        else { return nil }
        return socket
    }

    /// What a non-blocking `send` or `receive` on a connect-only connection did.
    enum StreamOutcome: Equatable {
        /// This many bytes went out or came in; 0 from `receive` is the peer's close.
        case transferred(Int)
        /// Nothing now: wait for the socket.
        case wouldBlock
        case failed(CURLcode)
    }

    /// Writes what the connection takes now (through TLS when the transfer negotiated it).
    func send(_ bytes: ArraySlice<UInt8>) -> StreamOutcome {
        confinement.check("a libcurl easy handle")
        var sent = 0
        let code = bytes.withUnsafeBytes { curl_easy_send(handle, $0.baseAddress, $0.count, &sent) }
        return Self.outcome(code, count: sent)
    }

    /// Reads what has arrived, up to `limit` bytes, appending it to `buffer`.
    func receive(into buffer: inout [UInt8], limit: Int) -> StreamOutcome {
        confinement.check("a libcurl easy handle")
        var chunk = [UInt8](repeating: 0, count: max(1, limit))
        var received = 0
        let code = chunk.withUnsafeMutableBytes { curl_easy_recv(handle, $0.baseAddress, $0.count, &received) }
        if code == CURLE_OK { buffer += chunk[..<received] }
        return Self.outcome(code, count: received)
    }

    private static func outcome(_ code: CURLcode, count: Int) -> StreamOutcome {
        switch code {
        case CURLE_OK: return .transferred(count)
        case CURLE_AGAIN: return .wouldBlock
        default: return .failed(code)
        }
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws(CurlError) {
        guard code == CURLE_OK else { throw CurlError("setting option \(option.rawValue)", code: code) }
    }
}
