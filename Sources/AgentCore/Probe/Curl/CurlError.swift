import CCurl

/// A libcurl call that failed while setting up a transfer: a bug or an unsupported option in this
/// libcurl build, never a probe outcome (those become `ProbeResult.failure`).
public struct CurlError: Error, CustomStringConvertible {
    public let operation: String
    public let code: Int
    public let message: String

    init(_ operation: String, code: CURLcode) {
        self.operation = operation
        self.code = Int(code.rawValue)
        self.message = String(cString: curl_easy_strerror(code))
    }

    init(_ operation: String, multiCode: CURLMcode) {
        self.operation = operation
        self.code = Int(multiCode.rawValue)
        self.message = String(cString: curl_multi_strerror(multiCode))
    }

    public var description: String {
        "libcurl \(operation) failed (\(code)): \(message); check that libcurl4-openssl (7.85 or newer) is installed"
    }
}
