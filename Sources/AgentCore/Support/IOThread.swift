import Dispatch
import Foundation
import Synchronization

/// A dedicated thread for blocking calls (a libcurl easy transfer), so they never occupy one of
/// the two threads of Swift's cooperative pool. Jobs run one at a time, in order.
public final class IOThread: Sendable {
    private let queue = Mutex<(jobs: [@Sendable () -> Void], stopping: Bool)>(([], false))
    private let wake = DispatchSemaphore(value: 0)

    public init(name: String) {
        let thread = Thread { [self] in
            while true {
                wake.wait()
                let (next, stop) = queue.withLock { queue in
                    (queue.jobs.isEmpty ? nil : queue.jobs.removeFirst(), queue.stopping && queue.jobs.isEmpty)
                }
                next?()
                if stop && next == nil { return }
            }
        }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on the thread and returns its value.
    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.withLock { $0.jobs.append { continuation.resume(returning: body()) } }
            wake.signal()
        }
    }

    /// Ends the thread once the jobs already queued have run.
    public func stop() {
        queue.withLock { $0.stopping = true }
        wake.signal()
    }
}
