/// The agent's version, shown by `--version`, in the user agent and in build info.
public enum AgentVersion {
    public static let current = "0.1.0"
}
