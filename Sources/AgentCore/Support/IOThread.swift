import Dispatch
import Foundation
import Synchronization

/// A dedicated thread for blocking calls (a libcurl easy transfer), so they never occupy one of
/// the two threads of Swift's cooperative pool. Jobs run one at a time, in order.
public final class IOThread: Sendable {
    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let wake = DispatchSemaphore(value: 0)

    public init(name: String) {
        let thread = Thread { [self] in
            while true {
                wake.wait()
                let next = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                next?()
            }
        }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on the thread and returns its value.
    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            jobs.withLock { $0.append { continuation.resume(returning: body()) } }
            wake.signal()
        }
    }
}
