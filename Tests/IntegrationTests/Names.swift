import AgentCore

/// swift-subprocess has a `Configuration` of its own; in these tests the name means the agent's.
typealias Configuration = AgentCore.Configuration
