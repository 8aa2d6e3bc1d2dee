import CCurl

/// Owns one libcurl multi handle: many transfers in flight on the calling thread.
///
/// Thread-confined like `CurlEasy` (checked); only `wakeup()` may be called from any thread,
/// which libcurl documents as safe for `curl_multi_wakeup`.
final class CurlMulti {
    private let handle: UnsafeMutableRawPointer
    private let confinement = ThreadConfinement()

    /// A finished transfer: its easy handle and libcurl's result code.
    struct Completion {
        let easy: CurlEasy.ID
        let code: CURLcode
    }

    init() {
        CurlGlobal.ensureInitialized()
        guard let handle = curl_multi_init() else {
            preconditionFailure("curl_multi_init returned NULL: out of memory")
        }
        self.handle = handle
    }

    deinit {
        curl_multi_cleanup(handle)
    }

    func add(_ easy: CurlEasy) throws(CurlError) {
        confinement.check("the libcurl multi handle")
        let code = curl_multi_add_handle(handle, easy.handle)
        guard code == CURLM_OK else { throw CurlError("curl_multi_add_handle", multiCode: code) }
    }

    func remove(_ easy: CurlEasy) {
        confinement.check("the libcurl multi handle")
        curl_multi_remove_handle(handle, easy.handle)
    }

    /// Drives every transfer as far as it can go without blocking.
    func perform() {
        confinement.check("the libcurl multi handle")
        var running: Int32 = 0
        _ = curl_multi_perform(handle, &running)
    }

    /// Transfers finished since the last call.
    func completions() -> [Completion] {
        confinement.check("the libcurl multi handle")
        var result: [Completion] = []
        var message = ccurl_message()
        while ccurl_multi_next_message(handle, &message) != 0 {
            if message.done != 0, let easy = message.easy {
                result.append(Completion(easy: CurlEasy.ID(handle: easy), code: message.result))
            }
        }
        return result
    }

    /// A descriptor of the caller's own to wait on beside libcurl's (the socket probes').
    struct ExtraSocket {
        let descriptor: Int32
        let writable: Bool
        /// Set by `poll` when the socket is ready (or has an error).
        var ready = false
    }

    /// Blocks until a socket is ready (libcurl's or one of `extra`), `timeout` passes,
    /// libcurl's own timers fire, or another thread calls `wakeup()`.
    func poll(timeout: Duration, extra: inout [ExtraSocket]) {
        confinement.check("the libcurl multi handle")
        var ready: Int32 = 0
        var waits = extra.map {
            curl_waitfd(fd: $0.descriptor, events: Int16($0.writable ? CURL_WAIT_POLLOUT : CURL_WAIT_POLLIN), revents: 0)
        }
        let milliseconds = Int32(clamping: timeout.inMillisecondsRoundedUp)
        _ = waits.withUnsafeMutableBufferPointer { buffer in
            curl_multi_poll(handle, buffer.baseAddress, UInt32(buffer.count), milliseconds, &ready)
        }
        for index in extra.indices { extra[index].ready = waits[index].revents != 0 }
    }

    func wakeup() {
        _ = curl_multi_wakeup(handle)
    }
}
