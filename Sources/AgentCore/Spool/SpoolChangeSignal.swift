import Synchronization

/// Wakes readers when the spool has new records or outbox events, so a caught-up reader waits
/// without polling and sees a new result as soon as it is durable.
///
/// A generation counter moves on every durable change; a reader remembers the generation it last
/// looked at and waits beyond it, so a change between its read and its wait is never missed.
final class SpoolChangeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    var generation: UInt64 { state.withLock { $0.generation } }

    func notify() {
        let waiters = state.withLock { state in
            state.generation += 1
            defer { state.waiters.removeAll() }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the generation is past `generation`, at `deadline`, or when the task is
    /// cancelled — whichever comes first.
    func wait(beyond generation: UInt64, until deadline: MonotonicInstant?) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForChange(beyond: generation) }
            if let deadline {
                group.addTask { try? await Task.sleep(for: deadline.duration(after: .now)) }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForChange(beyond generation: UInt64) async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    guard state.generation <= generation, !Task.isCancelled else { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
