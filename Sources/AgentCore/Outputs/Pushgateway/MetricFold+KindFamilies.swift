extension MetricFold {
    /// The last-probe gauges only some probe kinds have, named as blackbox_exporter's DNS, ICMP
    /// and gRPC probers name them, so its dashboards and rules read them unchanged. An endpoint
    /// adds samples only to its own kind's families; a family nobody fed renders nothing.
    struct KindFamilies {
        private var dnsPhases = MetricFamily(
            name: "probe_dns_duration_seconds", help: "Duration of each phase of the last DNS probe in seconds.", kind: .gauge)
        private var dnsAnswers = MetricFamily(
            name: "probe_dns_answer_rrs", help: "Records in the answer section of the last DNS reply.", kind: .gauge)
        private var dnsAuthority = MetricFamily(
            name: "probe_dns_authority_rrs", help: "Records in the authority section of the last DNS reply.", kind: .gauge)
        private var dnsAdditional = MetricFamily(
            name: "probe_dns_additional_rrs", help: "Records in the additional section of the last DNS reply.", kind: .gauge)
        private var dnsSucceeded = MetricFamily(
            name: "probe_dns_query_succeeded", help: "Whether the last DNS query got a reply.", kind: .gauge)
        private var icmpPhases = MetricFamily(
            name: "probe_icmp_duration_seconds", help: "Duration of each phase of the last ICMP probe in seconds.", kind: .gauge)
        private var icmpHopLimit = MetricFamily(
            name: "probe_icmp_reply_hop_limit", help: "Hop limit (TTL) of the last echo reply.", kind: .gauge)
        private var icmpSent = MetricFamily(
            name: "probe_icmp_packets_sent", help: "Echo requests the last ICMP probe sent.", kind: .gauge)
        private var icmpReceived = MetricFamily(
            name: "probe_icmp_packets_received", help: "Echo replies the last ICMP probe received.", kind: .gauge)
        private var grpcPhases = MetricFamily(
            name: "probe_grpc_duration_seconds", help: "Duration of each phase of the last gRPC probe in seconds.", kind: .gauge)
        private var grpcStatus = MetricFamily(
            name: "probe_grpc_status_code", help: "gRPC status of the last health check (0 is OK; -1 without one).", kind: .gauge)
        private var grpcServing = MetricFamily(
            name: "probe_grpc_healthcheck_response", help: "The serving status the last health check answered (1 for it).",
            kind: .gauge)
        private var grpcSSL = MetricFamily(name: "probe_grpc_ssl", help: "Whether the last gRPC probe used TLS.", kind: .gauge)

        var all: [MetricFamily] {
            [
                dnsPhases, dnsAnswers, dnsAuthority, dnsAdditional, dnsSucceeded, icmpPhases, icmpHopLimit, icmpSent,
                icmpReceived, grpcPhases, grpcStatus, grpcServing, grpcSSL,
            ]
        }

        mutating func add(_ kind: ProbeKind, _ last: LastProbe, labels: [(name: String, value: String)]) {
            let probe = last.details.probe
            switch kind {
            case .dns:
                Self.addPhases(last, kind, to: &dnsPhases, labels)
                dnsSucceeded.samples.append(.init(labels: labels, value: probe.dns == nil ? "0" : "1"))
                guard let dns = probe.dns else { return }
                dnsAnswers.samples.append(.init(labels: labels, value: "\(dns.answers)"))
                dnsAuthority.samples.append(.init(labels: labels, value: "\(dns.authority)"))
                dnsAdditional.samples.append(.init(labels: labels, value: "\(dns.additional)"))
            case .icmp:
                Self.addPhases(last, kind, to: &icmpPhases, labels)
                guard let icmp = probe.icmp else { return }
                icmpSent.samples.append(.init(labels: labels, value: "\(icmp.sent)"))
                icmpReceived.samples.append(.init(labels: labels, value: "\(icmp.received)"))
                if let hopLimit = icmp.replyHopLimit {
                    icmpHopLimit.samples.append(.init(labels: labels, value: "\(hopLimit)"))
                }
            case .grpc:
                Self.addPhases(last, kind, to: &grpcPhases, labels)
                grpcStatus.samples.append(.init(labels: labels, value: "\(probe.grpc?.statusCode ?? -1)"))
                grpcSSL.samples.append(.init(labels: labels, value: last.details.usedTLS ? "1" : "0"))
                for status in GRPCServingStatus.allCases {
                    let answered = probe.grpc?.servingStatus == status
                    grpcServing.samples.append(.init(labels: labels + [("serving_status", status.name)], value: answered ? "1" : "0"))
                }
            case .http, .tcp, .tls:
                return
            }
        }

        /// One sample per phase the kind has, zero for a phase the probe did not reach.
        private static func addPhases(
            _ last: LastProbe, _ kind: ProbeKind, to family: inout MetricFamily, _ labels: [(name: String, value: String)]
        ) {
            for (phase, name) in kind.phases {
                let index = Phase.allCases.firstIndex(of: phase)!
                let value = index < last.phases.count ? last.phases[index] : nil
                family.samples.append(.init(labels: labels + [("phase", name)], value: (value ?? .zero).secondsText))
            }
        }
    }
}
