import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// A private CA and a server certificate for 127.0.0.1/localhost signed by it, made at test time
/// with chosen lifetimes, so expiry reporting can be checked against known dates.
public struct TestCertificates: Sendable {
    public let caPEM: String
    public let leafPEM: String
    public let leafKeyPEM: String
    public let caExpiry: Date
    public let leafExpiry: Date

    public init(caValidFor caLifetime: TimeInterval, leafValidFor leafLifetime: TimeInterval) throws {
        // Whole seconds: certificates carry no fractions, and tests compare Unix seconds.
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("latency-agent test CA") }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + caLifetime, issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(caKey))
        let leafKey = P256.Signing.PrivateKey()
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(leafKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + leafLifetime, issuer: caName,
            subject: try DistinguishedName { CommonName("localhost") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
            },
            issuerPrivateKey: .init(caKey))
        self.caPEM = try ca.serializeAsPEM().pemString
        self.leafPEM = try leaf.serializeAsPEM().pemString
        self.leafKeyPEM = leafKey.pemRepresentation
        self.caExpiry = now + caLifetime
        self.leafExpiry = now + leafLifetime
    }

    /// Writes the CA certificate to a temporary file for `tls.ca_file`.
    public func writeCAFile() throws -> String {
        let path = NSTemporaryDirectory() + "latency-agent-ca-\(UUID().uuidString).pem"
        try caPEM.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

extension TestCertificates {
    /// A server's TLS context presenting the leaf and the CA, as the loopback test servers serve.
    func serverContext() throws -> NIOSSLContext {
        try NIOSSLContext(
            configuration: .makeServerConfiguration(
                certificateChain: [
                    .certificate(try NIOSSLCertificate(bytes: Array(leafPEM.utf8), format: .pem)),
                    .certificate(try NIOSSLCertificate(bytes: Array(caPEM.utf8), format: .pem)),
                ],
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(leafKeyPEM.utf8), format: .pem))))
    }
}
