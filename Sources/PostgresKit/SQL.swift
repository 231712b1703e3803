/// SQL text that can only be written as a literal in the source, so values can never be spliced
/// into it: they travel separately as `$n` parameters. `init(unsafeRaw:)` is the one visible
/// escape hatch (for static migration scripts kept in code).
public struct SQL: Sendable, Equatable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let text: String

    public init(stringLiteral value: StaticString) {
        text = "\(value)"
    }

    /// For SQL text that is not a literal at the call site. Never pass data through this.
    public init(unsafeRaw text: String) {
        self.text = text
    }

    public var description: String { text }
}
