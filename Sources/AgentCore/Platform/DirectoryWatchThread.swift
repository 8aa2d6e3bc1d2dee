/// A `DirectoryWatcher` on its own thread, so its blocking waits never hold one of the
/// cooperative pool's threads. Shared by the configuration watch and file discovery.
final class DirectoryWatchThread: Sendable {
    #if canImport(Glibc)
    private let thread: IOThread<Result<DirectoryWatcher, DirectoryWatcherError>>
    #endif

    init(name: String) {
        #if canImport(Glibc)
        thread = IOThread(name: name) { Result { () throws(DirectoryWatcherError) in try DirectoryWatcher() } }
        #endif
    }

    deinit {
        stop()
    }

    /// Watches exactly `directories` from now on. Returns what could not be watched, with why;
    /// when the watcher could not start at all, `isWorking` is false.
    func watch(_ directories: Set<String>) async -> [String] {
        #if canImport(Glibc)
        return await thread.run { watcher in
            switch watcher {
            case .success(let watcher): return watcher.watch(directories).map(\.description)
            case .failure(let error): return [error.description]
            }
        }
        #else
        return ["directory watching needs Linux inotify"]
        #endif
    }

    var isWorking: Bool {
        get async {
            #if canImport(Glibc)
            return await thread.run { (try? $0.get()) != nil }
            #else
            return false
            #endif
        }
    }

    /// Blocks (on the watcher's thread) until something changes or `timeout` passes.
    func wait(timeout: Duration) async -> [DirectoryChange] {
        #if canImport(Glibc)
        return await thread.run { watcher in (try? watcher.get())?.wait(timeout: timeout) ?? [] }
        #else
        try? await Task.sleep(for: timeout)
        return []
        #endif
    }

    func stop() {
        #if canImport(Glibc)
        thread.stop()
        #endif
    }
}
