/// Where an event comes from. State is keyed by source: `synthetic` and `shadow` events never
/// change `prod` state. An absent `source` field means `prod`.
public enum EventSource: String, Sendable, Codable, CaseIterable {
    case prod
    case synthetic
    case shadow
}
