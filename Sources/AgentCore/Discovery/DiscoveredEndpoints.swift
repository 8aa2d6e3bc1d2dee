/// What one source's refreshes add up to: the targets of each part (a file, a DNS name) as last
/// read well, turned into endpoints by the source's template.
///
/// Pure. A part that fails keeps the targets it had (a half-written file or a DNS timeout never
/// drops a live endpoint); a part that is gone (a deleted file) takes its targets with it.
struct DiscoveredEndpoints: Equatable {
    let template: TargetTemplate
    private(set) var lastGood: [String: [DiscoveredTarget]] = [:]
    private(set) var endpoints: [EndpointConfig] = []
    /// What went wrong in the last refresh, part by part; empty when it all went well.
    private(set) var problems: [String] = []
    /// Parts that failed in the last refresh and still count with what they had before.
    private(set) var kept: [String] = []

    init(template: TargetTemplate) {
        self.template = template
    }

    /// Applies one refresh: every part's targets or what went wrong with it. Returns whether the
    /// endpoints changed.
    mutating func apply(_ parts: [String: Result<[DiscoveredTarget], DiscoveryProblem>], agent: AgentConfig) -> Bool {
        var problems: [String] = []
        var kept: [String] = []
        var next: [String: [DiscoveredTarget]] = [:]
        for part in parts.keys.sorted() {
            switch parts[part]! {
            case .success(let targets):
                next[part] = targets
            case .failure(let problem):
                problems.append(problem.description)
                if let previous = lastGood[part] {
                    next[part] = previous
                    kept.append(part)
                }
            }
        }
        lastGood = next
        var seen: [String: EndpointConfig] = [:]
        var endpoints: [EndpointConfig] = []
        for part in next.keys.sorted() {
            for target in next[part]! {
                switch template.endpoint(for: target, agent: agent) {
                case .success(let endpoint):
                    if let earlier = seen[endpoint.name] {
                        if earlier != endpoint {
                            problems.append("\(part): target \"\(target.address)\" makes endpoint \"\(endpoint.name)\" again, with other labels; the first is kept")
                        }
                        continue
                    }
                    seen[endpoint.name] = endpoint
                    endpoints.append(endpoint)
                case .failure(let problem):
                    problems.append("\(part): \(problem)")
                }
            }
        }
        self.problems = problems
        self.kept = kept
        let changed = endpoints != self.endpoints
        self.endpoints = endpoints
        return changed
    }
}
