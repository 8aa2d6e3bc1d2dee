import AgentCore

/// Runs `agent` in-process, runs `body` while it serves, then stops it gracefully — all within
/// `seconds`, so a hang fails the test. `body` failing stops the agent too.
public func withRunningAgent<T: Sendable>(
    _ agent: Agent, deadline seconds: Double = 60, _ body: @escaping @Sendable (Agent) async throws -> T
) async throws -> T {
    try await withDeadline(seconds: seconds, "agent run") {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await agent.run()
                return nil
            }
            let value: T
            do {
                value = try await body(agent)
            } catch {
                await agent.shutdown()
                throw error
            }
            await agent.shutdown()
            try await group.waitForAll()
            return value
        }
    }
}
