#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which directory changes mean the configuration (or a discovery target file) may have
/// changed, and when to read it again.
///
/// Pure: the watcher resolves symlinks and reads inotify; this decides. A change counts when it
/// names a file the configuration was read from (or its symlink's target, or a name matching a
/// target file glob), or `..data` — the symlink the kubelet swaps to update a mounted ConfigMap
/// or Secret — or when the kernel lost events. Reloads wait until changes have been quiet for `quiet`, so an editor's save (write,
/// rename, chmod) or the kubelet's swap (several renames) is one reload, not five.
struct ConfigWatchPlan: Equatable {
    /// A file the configuration reads: the path it names and, when that is a symlink, where it
    /// leads. Either may end in a glob (`/etc/targets/*.json`) when made by `glob`.
    struct File: Equatable {
        var path: String
        var resolved: String?
        /// The file name is a pattern (`*`, `?`, `[…]`), not a name to match literally.
        var isGlob = false

        /// A pattern whose file name may hold `*`, `?` and `[…]`.
        static func glob(_ pattern: String) -> File { File(path: pattern, resolved: nil, isGlob: true) }
    }

    /// Directory → the name patterns in it that matter.
    private(set) var names: [String: Set<String>] = [:]
    let quiet: Duration
    /// When the pending reload is due; nil: nothing changed since the last one.
    private(set) var due: MonotonicInstant?

    static let kubeletDataLink = "..data"

    init(files: [File], quiet: Duration) {
        self.quiet = quiet
        setFiles(files)
    }

    var directories: Set<String> { Set(names.keys) }

    /// After a reload the configuration may read other files.
    mutating func setFiles(_ files: [File]) {
        names = [:]
        for file in files {
            for path in [file.path, file.resolved].compactMap({ $0 }) {
                let (directory, name) = Self.split(path)
                names[directory, default: [Self.kubeletDataLink]].insert(file.isGlob ? name : Self.escaped(name))
            }
        }
    }

    /// Records a change; returns whether it counts.
    @discardableResult
    mutating func changed(_ change: DirectoryChange, at now: MonotonicInstant) -> Bool {
        let counts = change.overflowed || change.directory.map { directory in
            (names[directory] ?? []).contains { fnmatch($0, change.name, 0) == 0 }
        } ?? false
        if counts { due = now + quiet }
        return counts
    }

    /// Whether the reload is due now; a due reload is then no longer pending.
    mutating func reloadIsDue(at now: MonotonicInstant) -> Bool {
        guard let due, now >= due else { return false }
        self.due = nil
        return true
    }

    /// How long the watcher may block before this plan needs to look again.
    func wait(at now: MonotonicInstant, atMost longest: Duration) -> Duration {
        guard let due else { return longest }
        return max(.zero, min(longest, due - now))
    }

    /// A real file name as a pattern that matches only itself.
    private static func escaped(_ name: String) -> String {
        var result = ""
        for character in name {
            if "*?[\\".contains(character) { result.append("\\") }
            result.append(character)
        }
        return result
    }

    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }
}
