#if canImport(Glibc)
import Glibc

/// Linux inotify over the directories that hold the configuration and the files it reads.
///
/// Directories, not files: an editor saves by renaming a new file over the old one, and the
/// kubelet updates a mounted ConfigMap or Secret by swapping the directory's `..data` symlink —
/// in both cases a watch on the file itself would follow the old inode and see nothing.
///
/// Confined to the thread that made it (the watcher's `IOThread`); `wait` blocks that thread.
final class DirectoryWatcher {
    private let descriptor: Int32
    private var directories: [Int32: String] = [:]
    private let confinement = ThreadConfinement()

    private static let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)

    init() throws(DirectoryWatcherError) {
        let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { throw DirectoryWatcherError(operation: "inotify_init1", path: nil, code: errno) }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Watches exactly `paths` from now on: new ones are added, ones no longer named removed.
    /// Returns the directories that could not be watched, with why.
    func watch(_ paths: Set<String>) -> [DirectoryWatcherError] {
        confinement.check("the configuration watcher")
        for (watch, directory) in directories where !paths.contains(directory) {
            inotify_rm_watch(descriptor, watch)
            directories[watch] = nil
        }
        var failures: [DirectoryWatcherError] = []
        for path in paths where !directories.values.contains(path) {
            let watch = inotify_add_watch(descriptor, path, Self.mask)
            if watch < 0 {
                failures.append(DirectoryWatcherError(operation: "inotify_add_watch", path: path, code: errno))
            } else {
                directories[watch] = path
            }
        }
        return failures
    }

    /// Blocks until something changes in a watched directory or `timeout` passes.
    func wait(timeout: Duration) -> [DirectoryChange] {
        confinement.check("the configuration watcher")
        var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, Int32(clamping: timeout.inMillisecondsRoundedUp)) > 0 else { return [] }
        var changes: [DirectoryChange] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            for event in InotifyEvents.parse(buffer[0..<count]) {
                let directory = directories[event.watch]
                // The kernel drops the watch of a directory that was deleted or unmounted:
                // forget it, so the next `watch` call adds it again if it is back.
                if event.mask & UInt32(IN_IGNORED) != 0 { directories[event.watch] = nil }
                changes.append(DirectoryChange(directory: directory, name: event.name, overflowed: event.mask & UInt32(IN_Q_OVERFLOW) != 0))
            }
        }
        return changes
    }
}

#endif

/// Something happened to `name` in `directory` (nil: a watch the agent no longer knows).
struct DirectoryChange: Equatable {
    var directory: String?
    var name: String
    /// The kernel's queue overflowed: changes were lost, so anything may have changed.
    var overflowed: Bool = false
}

/// Why a directory cannot be watched: the reload-on-change feature is then off for it, and the log says so.
public struct DirectoryWatcherError: Error, CustomStringConvertible {
    var operation: String
    var path: String?
    var code: Int32

    public var description: String {
        "\(operation)\(path.map { " \"\($0)\"" } ?? "") failed: \(SystemError.describe(code))"
    }
}

/// The records `read(2)` returns from an inotify descriptor: `struct inotify_event` (watch,
/// mask, cookie, name length, then the NUL-padded name), back to back, in the host's byte order.
enum InotifyEvents {
    struct Event: Equatable {
        var watch: Int32
        var mask: UInt32
        var name: String
    }

    static func parse(_ bytes: ArraySlice<UInt8>) -> [Event] {
        var events: [Event] = []
        var offset = bytes.startIndex
        func word(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        while offset + 16 <= bytes.endIndex {
            let length = Int(word(offset + 12))
            guard offset + 16 + length <= bytes.endIndex else { break }
            let nameBytes = bytes[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }
            events.append(Event(watch: Int32(bitPattern: word(offset)), mask: word(offset + 4), name: String(decoding: nameBytes, as: UTF8.self)))
            offset += 16 + length
        }
        return events
    }
}
