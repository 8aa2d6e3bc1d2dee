#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-line writes to a file descriptor, bypassing stdio's shared buffers: one `write(2)` per
/// line keeps lines whole when several threads log at once.
public enum LineWriter {
    public static let standardOutput: Int32 = 1
    public static let standardError: Int32 = 2

    public static func write(_ text: String, to fileDescriptor: Int32) {
        write(bytes: Array(text.utf8), to: fileDescriptor)
    }

    public static func write(bytes: [UInt8], to fileDescriptor: Int32) {
        var bytes = bytes
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                Glibc.write(fileDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}
