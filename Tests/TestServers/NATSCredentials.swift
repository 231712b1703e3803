import Foundation

/// NKeys and `.creds` (JWT) material made at test time. `nsc` is not available on Debian, so a
/// small Python program (Ed25519 from the `cryptography` package, Debian python3-cryptography)
/// writes nkeys (base32 with CRC16, as nats-io/nkeys) and operator/account/user JWTs
/// (`ed25519-nkey`), the way `nsc` does.
public enum NATSCredentials {
    static let generator = #"""
        import base64, json, sys, time, hashlib
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives import serialization

        PREFIX = {"seed": 18 << 3, "operator": 14 << 3, "account": 0, "user": 20 << 3}

        def crc16(data):
            crc = 0
            for byte in data:
                crc ^= byte << 8
                for _ in range(8):
                    crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
                    crc &= 0xFFFF
            return crc

        def b32(raw):
            raw = raw + crc16(raw).to_bytes(2, "little")
            return base64.b32encode(raw).decode().rstrip("=")

        def keypair(kind):
            key = Ed25519PrivateKey.generate()
            seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
            public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            p = PREFIX[kind]
            seed_text = b32(bytes([PREFIX["seed"] | (p >> 5), (p & 31) << 3]) + seed)
            return {"key": key, "seed": seed_text, "public": b32(bytes([p]) + public)}

        def b64(data):
            return base64.urlsafe_b64encode(data).decode().rstrip("=")

        def jwt(issuer, subject, name, nats):
            claims = {"iat": int(time.time()) - 10, "iss": issuer["public"], "name": name, "sub": subject, "nats": nats}
            claims["jti"] = base64.b32encode(hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).digest()).decode().rstrip("=")
            header = b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
            payload = b64(json.dumps(claims).encode())
            signature = issuer["key"].sign(f"{header}.{payload}".encode())
            return f"{header}.{payload}.{b64(signature)}"

        out = {}
        for name in ("user", "other_user"):
            pair = keypair("user")
            out[name] = {"seed": pair["seed"], "public": pair["public"]}
        if len(sys.argv) > 1 and sys.argv[1] == "jwt":
            limits = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1, "wildcards": True,
                      "conn": -1, "leaf": -1, "mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}
            operator = keypair("operator")
            account = keypair("account")
            user = keypair("user")
            stranger_account = keypair("account")
            stranger = keypair("user")
            out["operator_jwt"] = jwt(operator, operator["public"], "banditd-test-operator", {"type": "operator", "version": 2})
            system = keypair("account")
            out["system_public"] = system["public"]
            out["system_jwt"] = jwt(operator, system["public"], "SYS", {"type": "account", "version": 2})
            out["account_public"] = account["public"]
            out["account_jwt"] = jwt(operator, account["public"], "BANDITD", {"type": "account", "version": 2, "limits": limits})
            user_nats = {"type": "user", "version": 2, "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1}
            out["user_jwt"] = jwt(account, user["public"], "banditd", user_nats)
            out["user_seed"] = user["seed"]
            # A user signed by an account the operator never signed.
            out["stranger_jwt"] = jwt(stranger_account, stranger["public"], "stranger", user_nats)
            out["stranger_seed"] = stranger["seed"]
        print(json.dumps(out))
        """#

    /// Runs the generator; `jwt` adds an operator, an account and users with their JWTs.
    public static func generate(jwt: Bool, in directory: TemporaryDirectory) throws -> [String: Any] {
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let python else { throw TestSupportError("python3 is missing: the nkey tests need it") }
        let script = directory.appending("nkeys.py")
        try generator.write(toFile: script, atomically: true, encoding: .utf8)
        let log = directory.appending("nkeys.json")
        do {
            try ChildProcess.run(python, arguments: [script] + (jwt ? ["jwt"] : []), logFile: log)
        } catch {
            throw TestSupportError(
                "generating nkeys failed (needs python3 with the cryptography package, Debian python3-cryptography): \(error)"
            )
        }
        let text = try String(contentsOfFile: log, encoding: .utf8)
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw TestSupportError("nkey generator output: \(text)")
        }
        return object
    }

    /// Writes a `.creds` file the way `nsc` does: the user JWT, then the user's nkey seed.
    public static func writeCreds(jwt: String, seed: String, to path: String) throws {
        let text = """
            -----BEGIN NATS USER JWT-----
            \(jwt)
            ------END NATS USER JWT------

            ************************* IMPORTANT *************************
            NKEY Seed printed below can be used to sign and prove identity.
            NKEYs are sensitive and should be treated as secrets.

            -----BEGIN USER NKEY SEED-----
            \(seed)
            ------END USER NKEY SEED------

            *************************************************************

            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The nats-server configuration of the operator (memory resolver, system account) of `keys`.
    public static func operatorConfiguration(_ keys: [String: Any]) throws -> String {
        func value(_ key: String) throws -> String {
            guard let value = keys[key] as? String else { throw TestSupportError("no \(key) in the generated keys") }
            return value
        }
        return """
            operator: \(try value("operator_jwt"))
            resolver: MEMORY
            system_account: \(try value("system_public"))
            resolver_preload: {
              \(try value("account_public")): \(try value("account_jwt"))
              \(try value("system_public")): \(try value("system_jwt"))
            }
            """
    }
}
