import Foundation

/// Finding the server binaries the integration tests need.
///
/// A missing binary is an error, never a skip: integration tests that silently do nothing are
/// worse than a red run that says what to install.
public enum Executable {
    /// Returns the absolute path of `name`.
    ///
    /// Order: the environment variable `environmentOverride` (an explicit path, which must be
    /// executable), then each directory of `$PATH`, then `fallbackDirectories` (for example
    /// `/usr/lib/postgresql/15/bin`, where Debian keeps `initdb`). Throws an error naming the binary
    /// and the variable when nothing is found.
    public static func locate(
        _ name: String,
        environmentOverride: String,
        fallbackDirectories: [String] = []
    ) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment[environmentOverride], !explicit.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: explicit) else {
                throw TestSupportError(
                    "\(environmentOverride)=\(explicit) is not an executable file; it must point at the '\(name)' binary"
                )
            }
            return explicit
        }
        let pathDirectories = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        let searched = pathDirectories + fallbackDirectories
        for directory in searched where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        throw TestSupportError(
            """
            Required test binary '\(name)' was not found (searched $PATH and \(fallbackDirectories)). \
            Install it or set \(environmentOverride)=/path/to/\(name). \
            Integration tests do not skip when a server binary is missing.
            """
        )
    }
}
