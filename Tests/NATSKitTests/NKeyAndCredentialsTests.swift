import Foundation
import NATSKit
import TestSupport
import Testing

/// NKey and `.creds` (JWT) authentication against real nats-server processes, with keys and
/// JWTs made at test time by `NATSCredentials` (no `nsc` on Debian).
@Suite(.serialized)
struct NKeyAndCredentialsTests {
    @Test func anNKeyUserAuthenticatesAndAnotherKeyIsRefusedClearly() async throws {
        try await onDedicatedThread {
            let directory = try TemporaryDirectory(prefix: "banditd-nkeys")
            defer { directory.remove() }
            let keys = try NATSCredentials.generate(jwt: false, in: directory)
            let user = try #require(keys["user"] as? [String: String])
            let other = try #require(keys["other_user"] as? [String: String])
            let userPublic = try #require(user["public"])
            let seedFile = directory.appending("user.nk")
            try (try #require(user["seed"]) + "\n").write(toFile: seedFile, atomically: true, encoding: .utf8)
            let otherSeedFile = directory.appending("other.nk")
            try (try #require(other["seed"]) + "\n").write(toFile: otherSeedFile, atomically: true, encoding: .utf8)

            let server = try NATSServer.start(extraConfiguration: "authorization { users: [{nkey: \(userPublic)}] }")
            defer { server.stop() }

            var options = NATSConnectionOptions(servers: [server.url])
            options.nkey = .init(publicKey: userPublic, seedFile: seedFile)
            let good = try NATSConnection(options: options)
            #expect(good.isConnected)
            try good.flush()
            #expect(!options.description.contains(try #require(user["seed"])))

            // No credentials, another user's key pair, or the right public key signed with another seed.
            #expect(throws: NATSError.self) {
                _ = try NATSConnection(options: NATSConnectionOptions(servers: [server.url]))
            }
            var stranger = NATSConnectionOptions(servers: [server.url])
            stranger.nkey = .init(publicKey: try #require(other["public"]), seedFile: otherSeedFile)
            let refused = #expect(throws: NATSError.self) { _ = try NATSConnection(options: stranger) }
            #expect(refused?.message.contains("Authorization") == true, "\(refused.map { "\($0)" } ?? "-")")
            var forged = NATSConnectionOptions(servers: [server.url])
            forged.nkey = .init(publicKey: userPublic, seedFile: otherSeedFile)
            #expect(throws: NATSError.self) { _ = try NATSConnection(options: forged) }
            good.close()
        }
    }

    @Test func aCredsFileOfAnOperatorSignedUserAuthenticatesAndAForeignOneIsRefused() async throws {
        try await onDedicatedThread {
            let directory = try TemporaryDirectory(prefix: "banditd-creds")
            defer { directory.remove() }
            let keys = try NATSCredentials.generate(jwt: true, in: directory)
            func value(_ key: String) throws -> String {
                guard let value = keys[key] as? String else { throw TestSupportError("no \(key)") }
                return value
            }
            func writeCreds(jwt: String, seed: String, to name: String) throws -> String {
                let path = directory.appending(name)
                try NATSCredentials.writeCreds(jwt: jwt, seed: seed, to: path)
                return path
            }
            let creds = try writeCreds(jwt: try value("user_jwt"), seed: try value("user_seed"), to: "user.creds")
            let foreign = try writeCreds(
                jwt: try value("stranger_jwt"), seed: try value("stranger_seed"), to: "stranger.creds")
            // The right JWT with another user's seed: the nonce signature does not match.
            let mismatched = try writeCreds(
                jwt: try value("user_jwt"), seed: try value("stranger_seed"), to: "mismatched.creds")

            let server = try NATSServer.start(extraConfiguration: try NATSCredentials.operatorConfiguration(keys))
            defer { server.stop() }

            let good: NATSConnection
            do {
                good = try NATSConnection(options: NATSConnectionOptions(servers: [server.url], credentialsFile: creds))
            } catch {
                // Seen once in a loaded CI run (not reproduced since): keep the server's own reason.
                let log = (try? String(contentsOfFile: server.logFile, encoding: .utf8)) ?? "(no log)"
                Issue.record("the operator-signed user was refused: \(error)\nnats-server log:\n\(log.suffix(4000))")
                throw error
            }
            #expect(good.isConnected)
            try good.flush()
            for (name, file) in [("foreign account", foreign), ("mismatched seed", mismatched)] {
                let refused = #expect(throws: NATSError.self, "\(name)") {
                    _ = try NATSConnection(options: NATSConnectionOptions(servers: [server.url], credentialsFile: file))
                }
                #expect(
                    refused?.message.contains("Authorization") == true, "\(name): \(refused.map { "\($0)" } ?? "-")")
                #expect(refused.map { "\($0)" }?.contains(try value("stranger_seed")) == false)
            }
            #expect(throws: NATSError.self) {
                _ = try NATSConnection(options: NATSConnectionOptions(servers: [server.url]))
            }
            good.close()
        }
    }
}
