import Foundation

/// The `grpc.health.v1.Health/Check` call, spoken over libcurl's HTTP/2: one length-prefixed
/// protobuf message each way, the outcome in the `grpc-status` trailer. Two one-field messages
/// do not need a protobuf library; this is all of the wire format the probe uses.
enum GRPCHealthCheck {
    static let path = "/grpc.health.v1.Health/Check"
    /// `te: trailers` is what tells a gRPC server (and any proxy between) that trailers are read.
    static let headerLines = ["Content-Type: application/grpc", "TE: trailers"]

    /// The service a `grpc://` URL's path names: empty (the server as a whole) for no path or
    /// `/`, else its one segment, percent-decoded; nil for more than one segment.
    static func service(fromPath path: String) -> String? {
        let trimmed = path.hasPrefix("/") ? String(path.dropFirst()) : path
        guard !trimmed.contains("/") else { return nil }
        return trimmed.removingPercentEncoding ?? trimmed
    }

    /// A `HealthCheckRequest { string service = 1; }` in a gRPC frame (uncompressed).
    static func requestBody(service: String) -> [UInt8] {
        var message: [UInt8] = []
        if !service.isEmpty {
            message.append(0x0a)
            appendVarint(UInt64(service.utf8.count), to: &message)
            message += Array(service.utf8)
        }
        let length = UInt32(message.count)
        return [0, UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + message
    }

    /// The `status` of a framed `HealthCheckResponse`; nil when `body` is not one. An empty
    /// message is UNKNOWN: proto3 leaves a zero field out.
    static func servingStatus(fromBody body: [UInt8]) -> GRPCServingStatus? {
        guard body.count >= 5, body[0] == 0 else { return nil }
        let length = Int(body[1]) << 24 | Int(body[2]) << 16 | Int(body[3]) << 8 | Int(body[4])
        guard body.count >= 5 + length else { return nil }
        var reader = ProtobufReader(bytes: body[5..<(5 + length)])
        var status = GRPCServingStatus.unknown
        while !reader.isAtEnd {
            guard let (field, wireType) = reader.tag() else { return nil }
            if field == 1, wireType == 0 {
                guard let value = reader.varint() else { return nil }
                status = GRPCServingStatus(rawValue: Int(truncatingIfNeeded: value)) ?? .unknown
            } else if !reader.skip(wireType: wireType) {
                return nil
            }
        }
        return status
    }

    /// gRPC's status codes by number, as its documentation names them.
    static func statusName(_ code: Int) -> String {
        let names = [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
            "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
            "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
        ]
        return names.indices.contains(code) ? names[code] : "CODE_\(code)"
    }

    /// What the call's outcome says, from the HTTP status, the `grpc-status` / `grpc-message`
    /// trailer (or header, in a trailers-only reply) and the body; the failure is nil for SERVING.
    static func outcome(
        httpStatus: Int, grpcStatus: String?, grpcMessage: String?, body: [UInt8], service: String
    ) -> (details: ProbeDetails.GRPC?, failure: ProbeFailure?) {
        guard httpStatus == 200 else {
            return (nil, ProbeFailure(reason: .httpStatus, message: "HTTP status \(httpStatus); a gRPC server answers 200"))
        }
        guard let text = grpcStatus, let code = Int(text.trimmingCharacters(in: .whitespaces)) else {
            return (nil, ProbeFailure(reason: .grpcStatus, message: "the reply has no grpc-status trailer: is this a gRPC server?"))
        }
        let serving = code == 0 ? servingStatus(fromBody: body) : nil
        let details = ProbeDetails.GRPC(statusCode: code, servingStatus: serving)
        let target = service.isEmpty ? "the server" : "service \(service)"
        guard code == 0 else {
            let message = grpcMessage.map { ": " + ($0.removingPercentEncoding ?? $0) } ?? ""
            return (details, ProbeFailure(reason: .grpcStatus, message: "health check of \(target) ended \(statusName(code)) (\(code))\(message)"))
        }
        guard let serving else {
            return (details, ProbeFailure(reason: .grpcStatus, message: "the health check's reply is not a HealthCheckResponse"))
        }
        guard serving == .serving else {
            return (details, ProbeFailure(reason: .notServing, message: "health check of \(target) answered \(serving.name)"))
        }
        return (details, nil)
    }

    private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7f) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Just enough protobuf reading to find one field and step over the others.
    private struct ProtobufReader {
        var bytes: ArraySlice<UInt8>

        var isAtEnd: Bool { bytes.isEmpty }

        mutating func varint() -> UInt64? {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 7) {
                guard let byte = bytes.popFirst() else { return nil }
                value |= UInt64(byte & 0x7f) << shift
                if byte < 0x80 { return value }
            }
            return nil
        }

        mutating func tag() -> (field: UInt64, wireType: UInt64)? {
            varint().map { ($0 >> 3, $0 & 7) }
        }

        mutating func skip(wireType: UInt64) -> Bool {
            switch wireType {
            case 0: return varint() != nil
            case 1, 5:
                let size = wireType == 1 ? 8 : 4
                guard bytes.count >= size else { return false }
                bytes = bytes.dropFirst(size)
                return true
            case 2:
                guard let length = varint(), length <= UInt64(bytes.count) else { return false }
                bytes = bytes.dropFirst(Int(length))
                return true
            default: return false
            }
        }
    }
}
