import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads what one source lists now, part by part (a file, a DNS name), for
/// `DiscoveredEndpoints` to decide what stays.
enum TargetFinder {
    typealias Parts = [String: Result<[DiscoveredTarget], DiscoveryProblem>]

    static func find(_ kind: DiscoverySourceConfig.Kind) async -> Parts {
        switch kind {
        case .files(let patterns): return files(patterns)
        case .dns(let lookup): return await dns(lookup)
        case .mesh(let mesh): return await peers(mesh)
        }
    }

    // MARK: Files

    /// Every file matching one of `patterns` (globs in the file name only).
    static func files(_ patterns: [String]) -> Parts {
        var parts: Parts = [:]
        for path in matches(patterns) {
            parts[path] = read(path)
        }
        return parts
    }

    static func matches(_ patterns: [String]) -> [String] {
        var paths: Set<String> = []
        for pattern in patterns {
            let (directory, name) = ConfigWatchPlan.split(pattern)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for candidate in names where !candidate.hasPrefix(".") && fnmatch(name, candidate, 0) == 0 {
                let path = directory == "/" ? "/" + candidate : directory + "/" + candidate
                // A symlink into a swapped `..data` that no longer has the file is a removed key.
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue { paths.insert(path) }
            }
        }
        return paths.sorted()
    }

    private static func read(_ path: String) -> Result<[DiscoveredTarget], DiscoveryProblem> {
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > ConfigLoader.maxFileBytes {
            return .failure(DiscoveryProblem("\(path): the file has \(size) bytes; at most \(ConfigLoader.maxFileBytes) are read"))
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(DiscoveryProblem("\(path): cannot read the file (missing or not readable)"))
        }
        guard let text = String(data: data, encoding: .utf8) else { return .failure(DiscoveryProblem("\(path): the file is not UTF-8 text")) }
        do {
            return .success(try TargetFile.parse(text, source: path))
        } catch {
            return .failure(DiscoveryProblem(error.description))
        }
    }

    // MARK: DNS

    static func dns(_ lookup: DNSLookupConfig) async -> Parts {
        guard let resolver = resolver(lookup) else {
            return Dictionary(uniqueKeysWithValues: lookup.names.map { ($0, .failure(DiscoveryProblem(noResolver))) })
        }
        var parts: Parts = [:]
        for name in lookup.names {
            parts[name] = await targets(of: name, lookup: lookup, resolver: resolver)
        }
        return parts
    }

    private static func targets(of name: String, lookup: DNSLookupConfig, resolver: DNSResolver) async -> Result<[DiscoveredTarget], DiscoveryProblem> {
        do throws(DNSLookupError) {
            let answer = try await resolver.lookup(name, type: lookup.type)
            var targets: [DiscoveredTarget] = []
            for record in answer.records {
                switch record.data {
                case .address(let address):
                    targets.append(DiscoveredTarget(host: address, port: lookup.port))
                case .service(_, _, let port, let target):
                    // The target's addresses, from the additional section or asked for.
                    var addresses = answer.addresses[target.lowercased()] ?? []
                    if addresses.isEmpty { addresses = try await resolver.lookup(target, type: .a).records.compactMap(\.address) }
                    if addresses.isEmpty { addresses = try await resolver.lookup(target, type: .aaaa).records.compactMap(\.address) }
                    targets += addresses.map { DiscoveredTarget(host: $0, port: Int(port)) }
                default:
                    continue
                }
            }
            return .success(Array(Set(targets)).sorted { $0.address < $1.address })
        } catch {
            return .failure(DiscoveryProblem(error.description))
        }
    }

    private static func peers(_ mesh: MeshConfig) async -> Parts {
        let name = mesh.lookup.names[0]
        guard let found = await dns(mesh.lookup)[name] else { return [:] }
        return [
            name: found.map { members in
                MeshPeers.select(members: members.map(\.host), selfAddress: mesh.selfAddress, count: mesh.peers).map { peer in
                    DiscoveredTarget(host: peer, port: mesh.lookup.port, labels: EndpointLabels(["target_node": peer]))
                }
            }
        ]
    }

    private static let noResolver = "no DNS server: /etc/resolv.conf names none; set the source's server"

    /// The configured server, or the system's as `/etc/resolv.conf` says now.
    private static func resolver(_ lookup: DNSLookupConfig) -> DNSResolver? {
        if let resolver = lookup.resolver { return resolver }
        guard let text = try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8) else { return nil }
        return DNSResolver.system(resolvConf: text)
    }
}

extension DNSRecord {
    var address: String? {
        if case .address(let text) = data { return text }
        return nil
    }
}
