/// The frame of every record in the spool's `results` database: a format version, the probe's
/// start time at a fixed place, then the payload. The spool owns the frame, so retention and the
/// lag figures read a record's time without knowing what a probe result looks like, and the
/// payload's format can change under a new version without the spool caring.
///
/// `[version: 1 byte][start time: 8 bytes, big-endian Unix nanoseconds][payload]`
public enum SpoolEnvelope {
    /// Version 1: an HTTP probe result. Version 2: the same followed by the result's
    /// `ProbeDetails` (TLS session, DNS, ICMP, gRPC). Both are read, so a spool written by the
    /// previous release drains after an upgrade.
    public static let currentVersion: UInt8 = 2
    static let knownVersions: ClosedRange<UInt8> = 1...2
    static let headerSize = 9

    /// A writer holding the frame's header, for the payload to be written after it.
    static func writer(version: UInt8 = currentVersion, time: Timestamp, capacity: Int) -> ByteWriter {
        var writer = ByteWriter(capacity: capacity)
        writer.byte(version)
        writer.fixed64(UInt64(bitPattern: time.unixNanoseconds))
        return writer
    }

    /// The record's start time, read without touching the payload; nil when the frame is not one
    /// this build knows.
    static func time(of entry: LMDBEntry) -> Timestamp? {
        guard entry.valueCount >= headerSize else { return nil }
        return entry.readValue { (reader: inout ByteReader) -> Timestamp? in
            guard let version = try? reader.byte(), knownVersions.contains(version), let time = try? reader.fixed64() else { return nil }
            return Timestamp(unixNanoseconds: Int64(bitPattern: time))
        }
    }

    /// Decodes the record with `payload`, which reads the version's payload from the reader.
    static func open<T>(
        _ entry: LMDBEntry, _ payload: (UInt8, Timestamp, inout ByteReader) throws(ByteReader.Malformed) -> T
    ) throws(ByteReader.Malformed) -> T {
        try entry.readValue { (reader: inout ByteReader) throws(ByteReader.Malformed) -> T in
            let version = try reader.byte()
            guard knownVersions.contains(version) else { throw ByteReader.Malformed() }
            let time = Timestamp(unixNanoseconds: Int64(bitPattern: try reader.fixed64()))
            return try payload(version, time, &reader)
        }
    }
}
