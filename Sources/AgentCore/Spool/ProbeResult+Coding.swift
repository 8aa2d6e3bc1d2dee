extension ProbeResult {
    /// Version 1 of the spool record. The start time comes first at a fixed place (after the
    /// version byte, 8 bytes big-endian) so retention can read it without decoding the record.
    static let codingVersion: UInt8 = 1

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 96 + endpoint.utf8.count + url.utf8.count)
        writer.byte(Self.codingVersion)
        writer.fixed64(UInt64(bitPattern: startedAt))
        writer.string(endpoint)
        writer.string(url)
        writer.string(method)
        writer.byte(connection == .cold ? 0 : 1)
        for phase in [timings.dns, timings.connect, timings.tls, timings.processing, timings.transfer] {
            writer.optional(phase) { $0.signed($1) }
        }
        writer.signed(timings.redirect)
        writer.signed(timings.total)
        writer.signed(Int64(statusCode))
        writer.optional(httpVersion) { $0.string($1) }
        writer.signed(bytesReceived)
        writer.optional(remoteIP) { $0.string($1) }
        writer.signed(Int64(redirects))
        writer.optional(certificateExpiry) { $0.signed($1) }
        writer.optional(chainEarliestExpiry) { $0.signed($1) }
        writer.optional(failure) { writer, failure in
            writer.byte(UInt8(FailureReason.allCases.firstIndex(of: failure.reason)!))
            writer.string(failure.message)
        }
        return writer.bytes
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws(ByteReader.Malformed) {
        guard bytes.count > 9, bytes[0] == Self.codingVersion else { throw ByteReader.Malformed() }
        var reader = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[9...]))
        let startedAt = Self.startTime(of: bytes)!
        let endpoint = try reader.string()
        let url = try reader.string()
        let method = try reader.string()
        let connection: ConnectionMode = try reader.byte() == 0 ? .cold : .warm
        var phases: [Int64?] = []
        for _ in 0..<5 { phases.append(try reader.optional { (r: inout ByteReader) throws(ByteReader.Malformed) in try r.signed() }) }
        let timings = PhaseTimings(
            dns: phases[0], connect: phases[1], tls: phases[2], processing: phases[3], transfer: phases[4],
            redirect: try reader.signed(), total: try reader.signed())
        self.init(
            endpoint: endpoint, url: url, method: method, connection: connection, startedAt: startedAt,
            timings: timings, statusCode: try reader.int(),
            httpVersion: try reader.optional { (r: inout ByteReader) throws(ByteReader.Malformed) in try r.string() },
            bytesReceived: try reader.signed(),
            remoteIP: try reader.optional { (r: inout ByteReader) throws(ByteReader.Malformed) in try r.string() },
            redirects: try reader.int(),
            certificateExpiry: try reader.optional { (r: inout ByteReader) throws(ByteReader.Malformed) in try r.signed() },
            chainEarliestExpiry: try reader.optional { (r: inout ByteReader) throws(ByteReader.Malformed) in try r.signed() })
        self.failure = try reader.optional { (r: inout ByteReader) throws(ByteReader.Malformed) in
            let index = Int(try r.byte())
            guard index < FailureReason.allCases.count else { throw ByteReader.Malformed() }
            return ProbeFailure(reason: FailureReason.allCases[index], message: try r.string())
        }
        guard reader.isAtEnd else { throw ByteReader.Malformed() }
    }

    /// The start time of an encoded record, read without decoding the rest.
    static func startTime(of bytes: UnsafeRawBufferPointer) -> Int64? {
        guard bytes.count > 9, bytes[0] == codingVersion else { return nil }
        return Int64(bitPattern: ByteReader.key(UnsafeRawBufferPointer(rebasing: bytes[1..<9])))
    }
}
