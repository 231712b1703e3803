/// Exponential backoff with jitter: 250 ms doubling to 10 s.
public struct Backoff: Sendable {
    private var attempt = 0
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .milliseconds(250), cap: Duration = .seconds(10)) {
        self.base = base
        self.cap = cap
    }

    public mutating func next() -> Duration {
        defer { attempt += 1 }
        let ceiling = min(cap, base * (1 << min(attempt, 16)))
        return ceiling * Double.random(in: 0.5...1.0)
    }
}

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
