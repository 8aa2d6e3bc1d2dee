extension ProbeResult {
    /// The spool payload (envelope version 2), appended to `writer`. Times are stored as
    /// microseconds, libcurl's unit; the start time lives in the envelope.
    func encodePayload(into writer: inout ByteWriter) {
        writer.string(endpoint)
        writer.string(url)
        writer.string(method)
        writer.byte(connection == .cold ? 0 : 1)
        for phase in Phase.allCases {
            writer.optional(timings.microseconds(phase)) { $0.signed($1) }
        }
        writer.signed(timings.redirectMicroseconds)
        writer.signed(timings.totalMicroseconds)
        writer.signed(Int64(statusCode))
        writer.optional(httpVersion) { $0.string($1) }
        writer.signed(bytesReceived)
        writer.optional(remoteIP) { $0.string($1) }
        writer.signed(Int64(redirects))
        writer.optional(certificateExpiry) { $0.signed($1.unixSeconds) }
        writer.optional(chainEarliestExpiry) { $0.signed($1.unixSeconds) }
        writer.optional(failure) { writer, failure in
            writer.byte(UInt8(FailureReason.allCases.firstIndex(of: failure.reason)!))
            writer.string(failure.message)
        }
        details.encode(into: &writer)
    }

    /// The whole spool record, envelope and payload, written in one pass.
    func spoolRecord() -> [UInt8] {
        var writer = SpoolEnvelope.writer(time: startedAt, capacity: 110 + endpoint.utf8.count + url.utf8.count)
        encodePayload(into: &writer)
        return writer.bytes
    }

    init(payload reader: inout ByteReader, version: UInt8, startedAt: Timestamp) throws(ByteReader.Malformed) {
        func micros(_ r: inout ByteReader) throws(ByteReader.Malformed) -> Int64 { try r.signed() }
        func seconds(_ r: inout ByteReader) throws(ByteReader.Malformed) -> Timestamp { Timestamp(unixSeconds: try r.signed()) }
        let endpoint = try reader.string()
        let url = try reader.string()
        let method = try reader.string()
        let connection: ConnectionMode = try reader.byte() == 0 ? .cold : .warm
        var timings = PhaseTimings(total: .zero)
        for phase in Phase.allCases { timings.setMicroseconds(phase, try reader.optional(micros)) }
        timings.redirectMicroseconds = try reader.signed()
        timings.totalMicroseconds = try reader.signed()
        self.init(
            endpoint: endpoint, url: url, method: method, connection: connection, startedAt: startedAt,
            timings: timings, statusCode: try reader.int(),
            httpVersion: try reader.optional { (r: inout ByteReader) throws(ByteReader.Malformed) in try r.string() },
            bytesReceived: try reader.signed(),
            remoteIP: try reader.optional { (r: inout ByteReader) throws(ByteReader.Malformed) in try r.string() },
            redirects: try reader.int(), certificateExpiry: try reader.optional(seconds),
            chainEarliestExpiry: try reader.optional(seconds))
        self.failure = try reader.optional { (r: inout ByteReader) throws(ByteReader.Malformed) in
            let index = Int(try r.byte())
            guard index < FailureReason.allCases.count else { throw ByteReader.Malformed() }
            return ProbeFailure(reason: FailureReason.allCases[index], message: try r.string())
        }
        if version >= 2 { self.details = try ProbeDetails(reading: &reader) }
        guard reader.isAtEnd else { throw ByteReader.Malformed() }
    }
}
