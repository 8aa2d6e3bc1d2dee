import CZlib

/// gzip for request bodies (`Content-Encoding: gzip`): metric bodies shrink about tenfold.
public enum Gzip {
    public static func compress(_ bytes: [UInt8]) -> [UInt8]? {
        var output = [UInt8](repeating: 0, count: czlib_gzip_bound(bytes.count))
        let capacity = output.count
        let written = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                czlib_gzip(input.baseAddress, input.count, out.baseAddress, capacity)
            }
        }
        guard written > 0 else { return nil }
        output.removeSubrange(written...)
        return output
    }
}
