/// A failure of the test harness itself (a server that would not start, a missing binary, …).
///
/// Its description is meant to be read in a CI log: it says what was attempted and, where there
/// is one, ends with the tail of the process log.
public struct TestSupportError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
