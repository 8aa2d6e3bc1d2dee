import NIOConcurrencyHelpers

/// Runs `body`, failing with `DeadlineExceeded` if it takes longer than `seconds`.
///
/// Unlike a task group, this returns at the deadline even when `body` ignores cancellation (a
/// blocked C call, a continuation never resumed): the test fails instead of hanging the run.
public func withDeadline<T: Sendable>(
    seconds: Double, _ what: String = "operation", _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let finished = NIOLockedValueBox(false)
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        @Sendable func finish(_ result: Result<T, any Error>) {
            let first = finished.withLockedValue { done in
                defer { done = true }
                return !done
            }
            if first { continuation.resume(with: result) }
        }
        let work = Task {
            do { finish(.success(try await body())) } catch { finish(.failure(error)) }
        }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            finish(.failure(DeadlineExceeded(what: what, seconds: seconds)))
            work.cancel()
        }
    }
}

public struct DeadlineExceeded: Error, CustomStringConvertible {
    public let what: String
    public let seconds: Double
    public var description: String { "\(what) did not finish within \(seconds) s" }
}
