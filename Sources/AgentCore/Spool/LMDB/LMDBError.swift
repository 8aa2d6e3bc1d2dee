import CLMDB

/// A failed LMDB call, with the operation and LMDB's own words.
public struct LMDBError: Error, CustomStringConvertible, Equatable {
    public let operation: String
    public let code: Int32

    static func mapFull(operation: String) -> LMDBError { LMDBError(operation: operation, code: CLMDB_MAP_FULL) }

    public var isMapFull: Bool { code == CLMDB_MAP_FULL }

    public var description: String {
        let reason = String(cString: mdb_strerror(code))
        if isMapFull {
            return "LMDB \(operation): \(reason); raise spool.max_size or let the spool drop old records"
        }
        return "LMDB \(operation) failed (\(code)): \(reason)"
    }

    /// Throws unless `code` is success.
    static func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
        guard code == CLMDB_SUCCESS else { throw LMDBError(operation: operation(), code: code) }
    }
}
