import Foundation
import NATSKit
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Certificates made with `openssl` at test time: a CA, a server certificate for 127.0.0.1 and
/// localhost, a client certificate, and a client certificate of another CA.
struct TestCertificates {
    let directory: TemporaryDirectory
    var caFile: String { directory.appending("ca.pem") }
    var serverCertificate: String { directory.appending("server.pem") }
    var serverKey: String { directory.appending("server.key") }
    var clientCertificate: String { directory.appending("client.pem") }
    var clientKey: String { directory.appending("client.key") }
    var strangerCertificate: String { directory.appending("stranger.pem") }
    var strangerKey: String { directory.appending("stranger.key") }

    /// `openssl`, or a loud failure: these tests never skip.
    static func openssl() throws -> String {
        for candidate in ["/usr/bin/openssl", "/usr/local/bin/openssl", "/bin/openssl"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw TestSupportError("openssl is not installed: the TLS tests need it (apt-get install openssl)")
    }

    static func make(owner: String? = nil) throws -> TestCertificates {
        let directory = try TemporaryDirectory(prefix: "banditd-certs", owner: owner)
        let certificates = TestCertificates(directory: directory)
        let openssl = try openssl()
        let log = directory.appending("openssl.log")
        func run(_ arguments: [String]) throws {
            try ChildProcess.run(openssl, arguments: arguments, logFile: log, currentDirectory: directory.path)
        }
        let days = "2"
        // Two CAs: ours and a stranger's.
        for ca in ["ca", "other-ca"] {
            try run([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "\(ca).key", "-out", "\(ca).pem", "-days", days, "-subj", "/CN=banditd test \(ca)",
            ])
        }
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n".write(
            toFile: directory.appending("server.ext"), atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\n".write(
            toFile: directory.appending("client.ext"), atomically: true, encoding: .utf8)
        for (name, ca, ext) in [
            ("server", "ca", "server.ext"), ("client", "ca", "client.ext"),
            ("stranger", "other-ca", "client.ext"),
        ] {
            try run([
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(name == "server" ? "localhost" : name)",
            ])
            try run([
                "x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key", "-CAcreateserial",
                "-out", "\(name).pem", "-days", days, "-extfile", ext,
            ])
        }
        if let owner {
            for file in (try FileManager.default.contentsOfDirectory(atPath: directory.path)) {
                try TemporaryDirectory.chown(directory.appending(file), to: owner)
            }
        }
        return certificates
    }

    /// The `tls { }` block of a nats-server that requires and verifies client certificates.
    var natsServerBlock: String {
        """
        tls {
          cert_file: "\(serverCertificate)"
          key_file: "\(serverKey)"
          ca_file: "\(caFile)"
          verify: true
          timeout: 2
        }
        """
    }
}

/// `stat` of a path: mode bits and owner.
func fileStatus(_ path: String) throws -> (mode: UInt32, uid: UInt32) {
    var status = stat()
    guard stat(path, &status) == 0 else {
        throw TestSupportError("stat \(path): \(String(cString: strerror(errno)))")
    }
    return (UInt32(status.st_mode) & 0o7777, UInt32(status.st_uid))
}

/// The real user id of a running process, from /proc/PID/status.
func processUID(_ pid: Int32) throws -> UInt32 {
    let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }),
        let uid = line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap({ UInt32($0) })
    else { throw TestSupportError("no Uid in /proc/\(pid)/status") }
    return uid
}

/// A daemon's resident set (kB) and open descriptor count.
func processResources(_ pid: Int32) throws -> (rssKB: Int, fds: Int) {
    let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kb = line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap({ Int($0) })
    else { throw TestSupportError("no VmRSS in /proc/\(pid)/status") }
    let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    return (kb, fds)
}
