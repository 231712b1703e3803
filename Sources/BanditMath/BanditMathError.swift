/// Why a ridge solve or a score could not be computed from stored statistics.
///
/// Every case means "these statistics cannot be trusted for this request": callers score the
/// arm at the prior (a = 0, b = 0) instead, and should count or log the case. No case is ever
/// turned into a NaN or infinite score.
public enum BanditMathError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stored lengths disagree with the dimension (a must hold d×d values, b must hold d).
    case malformedStatistics(dimension: Int, aCount: Int, bCount: Int)
    /// The feature vector's length differs from the statistics' dimension.
    case dimensionMismatch(expected: Int, actual: Int)
    /// A stored sum (a, b) holds NaN or ±infinity.
    case nonFiniteStatistics
    /// A feature value is NaN or ±infinity.
    case nonFiniteFeatures
    /// λI + a stayed numerically not positive definite after the bounded jitter steps
    /// (see ``CholeskyFactor``): the stored matrix is not a sum of outer products.
    case notPositiveDefinite
    /// The solve produced a non-finite value (overflow at extreme scales).
    case nonFiniteResult

    public var description: String {
        switch self {
        case .malformedStatistics(let dimension, let aCount, let bCount):
            "statistics malformed: dimension \(dimension) needs \(dimension * dimension) values in a and "
                + "\(dimension) in b, got \(aCount) and \(bCount)"
        case .dimensionMismatch(let expected, let actual):
            "features have \(actual) values, statistics have dimension \(expected)"
        case .nonFiniteStatistics:
            "stored sums contain NaN or infinity"
        case .nonFiniteFeatures:
            "features contain NaN or infinity"
        case .notPositiveDefinite:
            "lambda*I + a is not positive definite, even with bounded diagonal jitter"
        case .nonFiniteResult:
            "solve overflowed to a non-finite value"
        }
    }
}
