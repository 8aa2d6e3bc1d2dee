/// Which peers one node of the mesh probes: its `count` successors on a ring of every member,
/// ordered by a hash of their address.
///
/// So every node probes `count` others and is probed by exactly `count` others (when there are
/// more than `count` members), the choice depends only on the member set (every node computes
/// the same ring from the same DNS answer), and when a node joins or leaves only the `count`
/// nodes just before it on the ring change one peer each: O(N·k) probes, not O(N²), and little
/// churn as nodes come and go. A node missing from the answer (not yet ready) places itself.
public enum MeshPeers {
    public static func select(members: [String], selfAddress: String, count: Int) -> [String] {
        let ring = Set(members + [selfAddress]).sorted { (position($0), $0) < (position($1), $1) }
        guard let mine = ring.firstIndex(of: selfAddress) else { return [] }
        let others = ring.count - 1
        return (0..<min(count, others)).map { ring[(mine + 1 + $0) % ring.count] }
    }

    /// 64-bit FNV-1a, then a finaliser that spreads neighbouring addresses (10.0.0.1, 10.0.0.2)
    /// over the ring; stable across processes and versions, unlike `Hasher`.
    static func position(_ address: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in address.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0100_0000_01b3
        }
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        hash &*= 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return hash
    }
}
