import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A directory created under the system temporary folder (`$TMPDIR`, else `/tmp`) and removed by
/// ``remove()``.
///
/// Server helpers put everything they create inside one of these (data dir, unix sockets, logs), so a
/// single `remove()` cleans up. Paths are kept short: unix socket paths are limited to ~107 bytes.
public final class TemporaryDirectory: Sendable {
    /// The directory, without a trailing slash.
    public let path: String

    public var url: URL { URL(fileURLWithPath: path, isDirectory: true) }

    /// Creates `PREFIX-XXXXXX` (mode 0700) and, when `owner` is given and we run as root, hands it to
    /// that user (servers such as PostgreSQL refuse to run as root and need to own their files).
    public init(prefix: String = "banditd", owner: String? = nil) throws {
        var base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        if base.isEmpty || base.utf8.count > 40 { base = "/tmp" }
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer -> String? in
            guard let result = mkdtemp(buffer.baseAddress!) else { return nil }
            return String(cString: result)
        }
        guard let created else {
            throw TestSupportError("mkdtemp in \(base) failed: \(String(cString: strerror(errno)))")
        }
        self.path = created
        if let owner {
            try TemporaryDirectory.chown(path, to: owner)
        }
    }

    /// `path/component`.
    public func appending(_ component: String) -> String {
        "\(path)/\(component)"
    }

    /// Creates a subdirectory (mode 0700), optionally owned by `owner` when running as root.
    @discardableResult
    public func makeSubdirectory(_ name: String, owner: String? = nil) throws -> String {
        let sub = appending(name)
        guard mkdir(sub, 0o700) == 0 || errno == EEXIST else {
            throw TestSupportError("mkdir \(sub) failed: \(String(cString: strerror(errno)))")
        }
        if let owner { try TemporaryDirectory.chown(sub, to: owner) }
        return sub
    }

    /// Creates an empty file, optionally owned by `owner` when running as root.
    @discardableResult
    public func makeFile(_ name: String, owner: String? = nil) throws -> String {
        let file = appending(name)
        guard FileManager.default.createFile(atPath: file, contents: nil) else {
            throw TestSupportError("could not create \(file)")
        }
        if let owner { try TemporaryDirectory.chown(file, to: owner) }
        return file
    }

    /// Removes the directory and everything in it. Safe to call more than once.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `chown user:group path` when running as root; a no-op otherwise (the files are ours already).
    public static func chown(_ path: String, to user: String) throws {
        guard geteuid() == 0 else { return }
        guard let entry = getpwnam(user) else {
            throw TestSupportError("user '\(user)' does not exist (needed to own \(path))")
        }
        let uid = entry.pointee.pw_uid
        let gid = entry.pointee.pw_gid
        #if canImport(Glibc)
            let result = Glibc.chown(path, uid, gid)
        #else
            let result = Darwin.chown(path, uid, gid)
        #endif
        guard result == 0 else {
            throw TestSupportError("chown \(user) \(path) failed: \(String(cString: strerror(errno)))")
        }
    }
}
