import CCurl

/// `curl_global_init` must run once before any other libcurl call and before threads use it; a
/// `static let` initialiser is lazy, runs once and is thread-safe.
enum CurlGlobal {
    private static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK

    static func ensureInitialized() {
        precondition(initialized, "curl_global_init failed: libcurl cannot be used")
    }

    /// The libcurl version string, e.g. `7.88.1`, for `--version` and the user agent.
    static var version: String {
        ensureInitialized()
        return String(cString: ccurl_version())
    }
}
