import ArgumentParser
import BanditOperations

#if canImport(Glibc)
    import Glibc
#endif

/// A startup failure that no restart can fix: a malformed `DATABASE_URL` or `NATS_URL`, credentials
/// refused, an unknown database or role, an unusable health socket path or metrics address. `banditd run` exits with
/// 78 (EX_CONFIG) on it, which the unit's `RestartPreventExitStatus=78` keeps from a restart loop.
/// The description carries the library's or the server's reason, never a password.
struct ConfigurationFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }

    /// The exit status of `banditd run` for an error it stops on: 78 for a configuration failure
    /// (including a health socket path that cannot be used), 1 for anything else.
    static func exitCode(for error: any Error) -> ExitCode {
        switch error {
        case is ConfigurationFailure:
            return .configurationError
        case let error as OperationsError:
            // Only the health socket, the metrics listener and the notify socket are set up by `run`
            // before anything else.
            let pathProblems = [
                EACCES, EPERM, ENOENT, ENOTDIR, ENAMETOOLONG, EROFS, ELOOP, EISDIR, EADDRINUSE, EADDRNOTAVAIL,
            ]
            switch error.code {
            case .invalidAddress, .notASocket, .socketInUse: return .configurationError
            case .systemCall where error.errno.map(pathProblems.contains) == true: return .configurationError
            default: return .failure
            }
        default:
            return .failure
        }
    }
}
