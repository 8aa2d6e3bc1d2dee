#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks at run time that a thread-confined object (a libcurl handle, the probe loop) is used
/// only from the thread that first used it, the way swift-nio's `NIOLoopBound` checks its event
/// loop: a misuse crashes in tests instead of racing in production.
final class ThreadConfinement {
    private var owner: pthread_t?

    init() {}

    /// Binds to the calling thread on first use; traps when called from any other thread later.
    func check(_ what: @autoclosure () -> String = "a thread-confined object") {
        let current = pthread_self()
        guard let owner else {
            self.owner = current
            return
        }
        precondition(pthread_equal(owner, current) != 0, "\(what()) used off its thread")
    }
}
