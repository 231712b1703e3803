import ArgumentParser
import BanditOperations

/// `--format json|table` of `report`, `stats`, `score`, `dlq list` and `state reset`
/// (CONTRACT section 9). JSON is the default.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case json
    case table
}

/// A command's output as one value, rendered either as JSON (for scripts) or as aligned tables
/// (for a person): both renderings come from the same value, so they carry the same content.
/// Object members keep their order.
indirect enum ReportValue {
    case object([(String, ReportValue)])
    case array([ReportValue])
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null

    /// A double, or null when absent or not finite (JSON has no NaN).
    static func number(_ value: Double?) -> ReportValue {
        guard let value, value.isFinite else { return .null }
        return .number(value)
    }

    static func string(_ value: String?) -> ReportValue {
        value.map { .string($0) } ?? .null
    }

    static func integer(_ value: Int) -> ReportValue { .integer(Int64(value)) }

    /// One JSON line; doubles in Swift's shortest round-trip form.
    var json: String {
        var out = ""
        appendJSON(to: &out)
        return out
    }

    private func appendJSON(to out: inout String) {
        switch self {
        case .object(let members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                out += JSONText.string(key)
                out += ":"
                value.appendJSON(to: &out)
            }
            out += "}"
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                element.appendJSON(to: &out)
            }
            out += "]"
        case .string(let value): out += JSONText.string(value)
        case .integer(let value): out += String(value)
        case .number(let value): out += value.isFinite ? "\(value)" : "null"
        case .bool(let value): out += value ? "true" : "false"
        case .null: out += "null"
        }
    }

    /// The output in the chosen format (the table form ends without a newline).
    func rendered(_ format: OutputFormat) -> String {
        switch format {
        case .json: json
        case .table: TableRendering.render(self)
        }
    }

    var isScalar: Bool {
        switch self {
        case .object, .array: false
        default: true
        }
    }
}
