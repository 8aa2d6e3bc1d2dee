import Dispatch
import Foundation
import Synchronization

/// A dedicated thread for blocking calls (a libcurl easy transfer), so they never occupy one of
/// the two threads of Swift's cooperative pool. Jobs run one at a time, in order, each handed the
/// thread's own `State` — made on the thread and never leaving it, so a thread-confined resource
/// (an easy handle) needs no lock and no unchecked Sendable.
public final class IOThread<State>: Sendable {
    private let queue = Mutex<(jobs: [@Sendable (State) -> Void], stopping: Bool)>(([], false))
    private let wake = DispatchSemaphore(value: 0)

    public init(name: String, makeState: @escaping @Sendable () -> State) {
        let thread = Thread { [self] in
            let state = makeState()
            while true {
                wake.wait()
                let (next, stop) = queue.withLock { queue in
                    (queue.jobs.isEmpty ? nil : queue.jobs.removeFirst(), queue.stopping && queue.jobs.isEmpty)
                }
                next?(state)
                if stop && next == nil { return }
            }
        }
        thread.name = name
        thread.start()
    }

    deinit {
        stop()
    }

    /// Runs `body` on the thread with its state and returns its value.
    public func run<T: Sendable>(_ body: @escaping @Sendable (State) -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.withLock { $0.jobs.append { state in continuation.resume(returning: body(state)) } }
            wake.signal()
        }
    }

    /// Ends the thread once the jobs already queued have run.
    public func stop() {
        queue.withLock { $0.stopping = true }
        wake.signal()
    }
}
