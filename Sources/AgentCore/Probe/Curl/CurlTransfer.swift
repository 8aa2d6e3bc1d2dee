import CCurl

/// One libcurl transfer's handle and everything curl writes back into: the error buffer, the
/// response body (kept up to a limit, counted beyond it), the size of the response headers, and
/// the errno of a socket that could not be opened. The prober and the output client both use it,
/// so libcurl's C callbacks are written once.
///
/// Confined to one thread, like its easy handle.
final class CurlTransfer {
    let easy = CurlEasy()
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let tlsFacts: UnsafeMutablePointer<ccurl_tls_facts>
    /// Body bytes kept for the caller (a body check, an output's answer); counting goes on past it.
    private let keepBody: Int
    /// The transfer aborts once the body passes this many bytes (`max_body_size`).
    private let bodyLimit: Int?
    /// The transfer aborts once the response headers pass this many bytes.
    let headerLimit: Int
    /// A probe's sockets stay below `SystemError.probeSocketCeiling`; an output's may use the
    /// descriptors kept above it.
    fileprivate let keepsDescriptorReserve: Bool

    private(set) var body: [UInt8] = []
    private(set) var bytesReceived = 0
    private(set) var exceededBodyLimit = false
    private(set) var headerBytes = 0
    private(set) var exceededHeaderLimit = false
    /// The errno of the last socket libcurl could not get (EMFILE when the open-file limit is reached).
    private(set) var socketFailure: Int32?

    /// Larger response headers than this are refused as `too_large`; libcurl itself takes at
    /// most 100 KiB per header line.
    static let defaultHeaderLimit = 256 * 1024

    init(
        keepBody: Int, bodyLimit: Int? = nil, headerLimit: Int = CurlTransfer.defaultHeaderLimit, keepsDescriptorReserve: Bool
    ) throws(CurlError) {
        self.keepsDescriptorReserve = keepsDescriptorReserve
        self.keepBody = keepBody
        self.bodyLimit = bodyLimit
        self.headerLimit = headerLimit
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        tlsFacts = .allocate(capacity: 1)
        tlsFacts.initialize(to: ccurl_tls_facts())
        try installSinks()
    }

    deinit {
        errorBuffer.deallocate()
        tlsFacts.deallocate()
    }

    /// Points libcurl's callbacks at this transfer; again after `easy.reset()`, which clears them.
    func installSinks() throws(CurlError) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        try easy.set(CURLOPT_NOSIGNAL, true)
        try easy.set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        try easy.set(CURLOPT_WRITEFUNCTION, callback: curlTransferReceiveBody)
        try easy.set(CURLOPT_WRITEDATA, pointer: me)
        try easy.set(CURLOPT_HEADERFUNCTION, callback: curlTransferReceiveHeader)
        try easy.set(CURLOPT_HEADERDATA, pointer: me)
        try easy.set(openSocket: curlTransferOpenSocket)
        try easy.set(CURLOPT_OPENSOCKETDATA, pointer: me)
        easy.recordTLS(into: tlsFacts)
    }

    /// Clears what the last request left; call right before each transfer.
    func begin() {
        easy.confinement.check("a libcurl transfer")
        body.removeAll(keepingCapacity: true)
        bytesReceived = 0
        exceededBodyLimit = false
        headerBytes = 0
        exceededHeaderLimit = false
        socketFailure = nil
        errorBuffer[0] = 0
        tlsFacts.pointee = ccurl_tls_facts()
    }

    /// The last TLS handshake's protocol, in blackbox_exporter's words (`TLS 1.3`), and OpenSSL's
    /// cipher name; nil when no handshake completed during this transfer.
    var tlsSession: (version: String, cipher: String)? {
        func text<Field>(_ field: Field) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        let version = text(tlsFacts.pointee.version)
        let cipher = text(tlsFacts.pointee.cipher)
        guard !version.isEmpty else { return nil }
        // OpenSSL says "TLSv1.3"; blackbox_exporter's `version` label says "TLS 1.3".
        return (version.hasPrefix("TLSv") ? "TLS " + version.dropFirst(4) : version, cipher)
    }

    /// libcurl's own words for a failed transfer: its error buffer, else the code's description.
    func errorMessage(_ code: CURLcode) -> String {
        let detail = String(cString: errorBuffer)
        return detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
    }

    /// The body as text, as far as it was kept.
    var bodyText: String { String(decoding: body, as: UTF8.self) }

    fileprivate func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
        bytesReceived += chunk.count
        if let bodyLimit, bytesReceived > bodyLimit {
            exceededBodyLimit = true
            return false
        }
        let room = keepBody - body.count
        if room > 0 { body.append(contentsOf: chunk.prefix(room)) }
        return true
    }

    fileprivate func receiveHeader(_ count: Int) -> Bool {
        headerBytes += count
        guard headerBytes <= headerLimit else {
            exceededHeaderLimit = true
            return false
        }
        return true
    }

    fileprivate func socketFailed(_ errno: Int32) {
        socketFailure = errno
    }
}

/// libcurl's write callback. Returning less than the chunk size makes libcurl abort with
/// `CURLE_WRITE_ERROR`.
private func curlTransferReceiveBody(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userData: UnsafeMutableRawPointer?
) -> Int {
    guard let userData else { return 0 }
    let length = size * count
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userData).takeUnretainedValue()
    return transfer.receive(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

private func curlTransferReceiveHeader(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userData: UnsafeMutableRawPointer?
) -> Int {
    guard let userData else { return 0 }
    let length = size * count
    return Unmanaged<CurlTransfer>.fromOpaque(userData).takeUnretainedValue().receiveHeader(length) ? length : 0
}

private func curlTransferOpenSocket(
    _ userData: UnsafeMutableRawPointer?, _ purpose: curlsocktype, _ address: UnsafeMutablePointer<curl_sockaddr>?
) -> curl_socket_t {
    guard let address, let userData else { return CURL_SOCKET_BAD }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userData).takeUnretainedValue()
    var failure: Int32 = 0
    let socket = ccurl_open_socket(address, transfer.keepsDescriptorReserve ? SystemError.probeSocketCeiling : Int32.max, &failure)
    if socket == CURL_SOCKET_BAD { transfer.socketFailed(failure) }
    return socket
}
