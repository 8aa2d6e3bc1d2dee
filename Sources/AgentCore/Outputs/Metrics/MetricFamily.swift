/// Metrics as the Prometheus text format (0.0.4) models them, rendered by `ExpositionWriter`.
/// One model and one writer serve the Pushgateway body and `/metrics`.
public struct MetricFamily: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    public var name: String
    public var help: String
    public var kind: Kind
    public var samples: [Sample]

    public init(name: String, help: String, kind: Kind, samples: [Sample] = []) {
        self.name = name
        self.help = help
        self.kind = kind
        self.samples = samples
    }

    public struct Sample: Sendable, Equatable {
        /// `""`, or `_bucket`, `_sum`, `_count` for histograms.
        public var suffix: String
        public var labels: [(name: String, value: String)]
        /// Already formatted, so integers stay exact and equal states render equal text.
        public var value: String

        public init(suffix: String = "", labels: [(name: String, value: String)], value: String) {
            self.suffix = suffix
            self.labels = labels
            self.value = value
        }

        public static func == (lhs: Sample, rhs: Sample) -> Bool {
            lhs.suffix == rhs.suffix && lhs.value == rhs.value && lhs.labels.map(\.name) == rhs.labels.map(\.name)
                && lhs.labels.map(\.value) == rhs.labels.map(\.value)
        }
    }

    /// Adds the samples of one histogram: cumulative buckets, `+Inf`, sum and count.
    public mutating func addHistogram(labels: [(name: String, value: String)], bounds: [Double], counts: [UInt64], sum: Duration) {
        var cumulative: UInt64 = 0
        for (bound, count) in zip(bounds, counts) {
            cumulative += count
            samples.append(Sample(suffix: "_bucket", labels: labels + [("le", ExpositionWriter.number(bound))], value: "\(cumulative)"))
        }
        let total = counts.reduce(0, +)
        samples.append(Sample(suffix: "_bucket", labels: labels + [("le", "+Inf")], value: "\(total)"))
        samples.append(Sample(suffix: "_sum", labels: labels, value: sum.secondsText))
        samples.append(Sample(suffix: "_count", labels: labels, value: "\(total)"))
    }
}
