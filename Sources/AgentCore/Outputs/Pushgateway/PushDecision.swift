import Foundation

/// What the Pushgateway reader does after a push, from the gateway's answer alone.
///
/// 2xx: the state is stored; commit it. 400: this payload is invalid or conflicts with another
/// group (a retry cannot fix it); the fold is committed anyway, because the cumulative state
/// still holds every probe and the next accepted push carries them. Anything else (5xx, 401,
/// 403, 404, 429, no answer): keep the spool cursor where it is and retry with backoff.
public enum PushDecision: Equatable, Sendable {
    case accepted
    case rejected(reason: String)
    case retry(reason: String, after: Duration?)

    public init(_ outcome: Result<OutputResponse, TransportError>) {
        switch outcome {
        case .success(let response) where (200..<300).contains(response.status):
            self = .accepted
        case .success(let response) where response.status == 400:
            self = .rejected(reason: response.body.trimmingCharacters(in: .whitespacesAndNewlines))
        case .success(let response):
            self = .retry(
                reason: "HTTP \(response.status): \(response.body.prefix(200).trimmingCharacters(in: .whitespacesAndNewlines))",
                after: response.retryAfter)
        case .failure(let error):
            self = .retry(reason: error.description, after: nil)
        }
    }
}
