import CLMDB

/// One LMDB transaction, alive only inside `LMDBEnvironment.read`/`write`.
public final class LMDBTransaction {
    fileprivate(set) var pointer: OpaquePointer?
    private var finished = false

    init(environment: OpaquePointer, readOnly: Bool) throws(LMDBError) {
        var pointer: OpaquePointer?
        try LMDBError.check(
            mdb_txn_begin(environment, nil, readOnly ? CLMDB_RDONLY : 0, &pointer),
            readOnly ? "beginning a read transaction" : "beginning a write transaction")
        self.pointer = pointer
    }

    func commit() throws(LMDBError) {
        finished = true
        try LMDBError.check(mdb_txn_commit(pointer), "committing")
    }

    func abort() {
        guard !finished else { return }
        finished = true
        mdb_txn_abort(pointer)
    }

    public func get(_ database: LMDBDatabase, key: [UInt8]) throws(LMDBError) -> [UInt8]? {
        var found: [UInt8]?
        var code: Int32 = 0
        key.withUnsafeBytes { keyBytes in
            var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            var value = MDB_val()
            code = mdb_get(pointer, database.dbi, &keyValue, &value)
            if code == CLMDB_SUCCESS { found = Array(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)) }
        }
        if code == CLMDB_NOTFOUND { return nil }
        try LMDBError.check(code, "reading a key")
        return found
    }

    /// Writes under a sequence number, stored big-endian so LMDB's byte order is numeric order.
    public func put(_ database: LMDBDatabase, sequence: UInt64, value: [UInt8], append: Bool = false) throws(LMDBError) {
        try put(database, key: ByteWriter.key(sequence), value: value, append: append)
    }

    public func put(_ database: LMDBDatabase, key: [UInt8], value: [UInt8], append: Bool = false) throws(LMDBError) {
        var code: Int32 = 0
        key.withUnsafeBytes { keyBytes in
            value.withUnsafeBytes { valueBytes in
                var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
                var data = MDB_val(mv_size: valueBytes.count, mv_data: UnsafeMutableRawPointer(mutating: valueBytes.baseAddress))
                code = mdb_put(pointer, database.dbi, &keyValue, &data, append ? CLMDB_APPEND : 0)
            }
        }
        try LMDBError.check(code, "writing a record")
    }

    /// Entries and pages of a database.
    public func statistics(_ database: LMDBDatabase) -> (entries: Int, pages: Int) {
        var stat = MDB_stat()
        mdb_stat(pointer, database.dbi, &stat)
        return (stat.ms_entries, stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages)
    }

    /// Visits entries in key order from `start` (or the first key, or the last when `reverse`).
    /// `visit` returns `.next`, `.stop`, or `.delete` to remove the entry and go on (write
    /// transactions only). The entry it gets is valid only during that call.
    public func scan(
        _ database: LMDBDatabase, from start: [UInt8]? = nil, reverse: Bool = false,
        _ visit: (LMDBEntry) throws(LMDBError) -> ScanStep
    ) throws(LMDBError) {
        var cursor: OpaquePointer?
        try LMDBError.check(mdb_cursor_open(pointer, database.dbi, &cursor), "opening a cursor")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var value = MDB_val()
        var code: Int32
        if let start {
            code = start.withUnsafeBytes { bytes in
                key = MDB_val(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                return mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
            }
        } else {
            code = mdb_cursor_get(cursor, &key, &value, reverse ? MDB_LAST : MDB_FIRST)
        }
        while code == CLMDB_SUCCESS {
            let step = try visit(
                LMDBEntry(
                    keyBytes: UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size),
                    valueBytes: UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)))
            switch step {
            case .stop: return
            case .next: break
            case .delete: try LMDBError.check(mdb_cursor_del(cursor, 0), "deleting a record")
            }
            code = mdb_cursor_get(cursor, &key, &value, reverse ? MDB_PREV : MDB_NEXT)
        }
        if code != CLMDB_NOTFOUND { try LMDBError.check(code, "moving a cursor") }
    }

    public enum ScanStep {
        case next, stop, delete
    }
}

/// One key and value as LMDB holds them in its memory map, read in place.
public struct LMDBEntry {
    fileprivate let keyBytes: UnsafeRawBufferPointer
    fileprivate let valueBytes: UnsafeRawBufferPointer

    /// The key as a big-endian sequence number.
    public var sequence: UInt64 { keyBytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) } }
    public var key: [UInt8] { Array(keyBytes) }
    public var value: [UInt8] { Array(valueBytes) }
    public var valueCount: Int { valueBytes.count }

    /// Reads the value in place with `body`.
    public func readValue<T, E: Error>(_ body: (inout ByteReader) throws(E) -> T) throws(E) -> T {
        var reader = ByteReader(valueBytes)
        return try body(&reader)
    }
}
