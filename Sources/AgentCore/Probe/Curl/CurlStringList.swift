import CCurl

/// Owns a `curl_slist` (request headers); libcurl keeps only the pointer, so the list must live
/// as long as any transfer that uses it.
final class CurlStringList {
    private(set) var pointer: UnsafeMutablePointer<curl_slist>?

    init(_ lines: [String]) {
        for line in lines {
            pointer = curl_slist_append(pointer, line)
        }
    }

    deinit {
        curl_slist_free_all(pointer)
    }
}
