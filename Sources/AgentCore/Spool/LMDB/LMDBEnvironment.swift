import CLMDB
import Foundation

/// An open LMDB environment: the one place the project holds LMDB's C pointers.
public final class LMDBEnvironment: @unchecked Sendable {
    // Why @unchecked Sendable is sound: LMDB makes the environment handle safe to share — it is
    // opened with `MDB_NOTLS`, so read transactions are not bound to threads, and LMDB serialises
    // write transactions with its own mutex. Transactions never leave the closure that made them,
    // and the handle is closed only in deinit, when no one can hold the environment any more.
    private let environment: OpaquePointer

    public init(path: String, mapSize: Int, maxDatabases: Int) throws(LMDBError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw LMDBError(operation: "creating directory \(path)", code: Int32(EACCES))
        }
        var pointer: OpaquePointer?
        try LMDBError.check(mdb_env_create(&pointer), "mdb_env_create")
        guard let pointer else { throw LMDBError(operation: "mdb_env_create", code: Int32(ENOMEM)) }
        do {
            try LMDBError.check(mdb_env_set_maxdbs(pointer, MDB_dbi(maxDatabases)), "mdb_env_set_maxdbs")
            try LMDBError.check(mdb_env_set_mapsize(pointer, mapSize), "mdb_env_set_mapsize")
            try LMDBError.check(
                mdb_env_open(pointer, path, CLMDB_NOTLS | CLMDB_NORDAHEAD, 0o640), "opening the spool at \(path)")
        } catch {
            mdb_env_close(pointer)
            throw error
        }
        self.environment = pointer
    }

    deinit {
        mdb_env_close(environment)
    }

    /// Opens (creating if needed) a named database.
    public func database(named name: String) throws(LMDBError) -> LMDBDatabase {
        try write { transaction throws(LMDBError) in
            var dbi: MDB_dbi = 0
            try LMDBError.check(mdb_dbi_open(transaction.pointer, name, CLMDB_CREATE, &dbi), "opening database \(name)")
            return LMDBDatabase(dbi: dbi)
        }
    }

    public func read<T>(_ body: (LMDBTransaction) throws(LMDBError) -> T) throws(LMDBError) -> T {
        let transaction = try LMDBTransaction(environment: environment, readOnly: true)
        defer { transaction.abort() }
        return try body(transaction)
    }

    /// Runs `body` in a write transaction and commits it (durably: LMDB syncs on commit); aborts
    /// if `body` throws.
    public func write<T>(_ body: (LMDBTransaction) throws(LMDBError) -> T) throws(LMDBError) -> T {
        let transaction = try LMDBTransaction(environment: environment, readOnly: false)
        do {
            let value = try body(transaction)
            try transaction.commit()
            return value
        } catch {
            transaction.abort()
            throw error
        }
    }

    /// The configured map size and the page size, for reporting and for staying below the cap.
    public var geometry: (mapSize: Int, pageSize: Int) {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(environment, &info)
        mdb_env_stat(environment, &stat)
        return (info.me_mapsize, Int(stat.ms_psize))
    }
}

/// A named database's handle; valid for the environment's lifetime.
public struct LMDBDatabase: Sendable {
    let dbi: MDB_dbi
}
