import Foundation

/// `--format table`: a ``ReportValue`` laid out for reading. Every value of the JSON form
/// appears, numbers rounded for reading:
///
/// - an object's scalar members (and nested objects of them, as `outer.inner`) form a block of
///   `name  value` lines;
/// - an array of objects becomes a table, one row per element, one column per member;
/// - an object whose members are all objects (e.g. `estimates: {ips: {value, lo, hi}, …}`)
///   becomes a table with one row per member, named in the first column;
/// - a top-level array (e.g. `score`) is one table.
///
/// Numbers: integers as they are; other numbers with four decimals, or three significant digits
/// in scientific notation below 0.001 or from 1,000,000 up. Null is `—`.
enum TableRendering {
    static func render(_ value: ReportValue) -> String {
        switch value {
        case .array(let elements):
            return table(elements) ?? "(none)"
        case .object(let members):
            var summary: [(String, String)] = []
            var sections: [String] = []
            for (key, member) in members {
                switch member {
                case .array(let elements) where elements.contains(where: { !$0.isScalar }):
                    sections.append("\(key):\n" + (table(elements) ?? "(none)"))
                case .object(let inner) where !inner.isEmpty && inner.allSatisfy({ !$0.1.isScalar && isObject($0.1) }):
                    sections.append("\(key):\n" + recordTable(inner))
                default:
                    summary += flatten(key, member)
                }
            }
            var blocks: [String] = []
            if !summary.isEmpty {
                let width = summary.map(\.0.count).max() ?? 0
                blocks.append(
                    summary.map { $0.0 + String(repeating: " ", count: width - $0.0.count) + "  " + $0.1 }
                        .joined(separator: "\n"))
            }
            blocks += sections
            return blocks.joined(separator: "\n\n")
        default:
            return cell(value)
        }
    }

    /// One row per element; nil for no elements.
    private static func table(_ elements: [ReportValue]) -> String? {
        guard !elements.isEmpty else { return nil }
        let rows = elements.map { element -> [(String, ReportValue)] in
            if case .object(let members) = element { return flattenValues("", members) }
            return [("value", element)]
        }
        return layout(rows)
    }

    /// The first column holds the member names, under an empty header (the section title names them).
    private static func recordTable(_ members: [(String, ReportValue)]) -> String {
        let rows = members.map { name, value -> [(String, ReportValue)] in
            guard case .object(let inner) = value else { return [("", .string(name))] }
            return [("", .string(name))] + flattenValues("", inner)
        }
        return layout(rows)
    }

    /// Columns in order of first appearance; a missing cell is empty.
    private static func layout(_ rows: [[(String, ReportValue)]]) -> String {
        var columns: [String] = []
        for row in rows {
            for (name, _) in row where !columns.contains(name) { columns.append(name) }
        }
        var cells: [[String]] = []
        var numeric = columns.map { _ in true }
        for row in rows {
            var line = [String](repeating: "", count: columns.count)
            for (name, value) in row {
                let index = columns.firstIndex(of: name)!
                line[index] = cell(value)
                switch value {
                case .integer, .number, .null: break
                default: numeric[index] = false
                }
            }
            cells.append(line)
        }
        return TextTable(headers: columns, alignments: numeric.map { $0 ? .right : .left }, rows: cells).rendered
    }

    private static func isObject(_ value: ReportValue) -> Bool {
        if case .object = value { return true }
        return false
    }

    /// `key  value` lines of a summary block.
    private static func flatten(_ key: String, _ value: ReportValue) -> [(String, String)] {
        flattenValues(key, [("", value)]).map { ($0.0, cell($0.1)) }
    }

    /// Nested objects become dotted names; arrays of scalars one comma-separated string.
    private static func flattenValues(_ prefix: String, _ members: [(String, ReportValue)]) -> [(String, ReportValue)] {
        var out: [(String, ReportValue)] = []
        for (key, value) in members {
            let name = [prefix, key].filter { !$0.isEmpty }.joined(separator: ".")
            switch value {
            case .object(let inner) where !inner.isEmpty:
                out += flattenValues(name, inner)
            case .array(let elements) where elements.allSatisfy(\.isScalar):
                out.append((name, .string(elements.isEmpty ? "(none)" : elements.map(cell).joined(separator: ", "))))
            case .array:
                out.append((name, .string(value.json)))
            default:
                out.append((name, value))
            }
        }
        return out
    }

    static func cell(_ value: ReportValue) -> String {
        switch value {
        case .string(let text): visible(text)
        case .integer(let number): String(number)
        case .number(let number): readable(number)
        case .bool(let flag): flag ? "true" : "false"
        case .null: "—"
        case .object, .array: value.json
        }
    }

    /// A double rounded for reading.
    static func readable(_ value: Double) -> String {
        guard value.isFinite else { return "—" }
        if value == 0 { return "0" }
        let magnitude = Swift.abs(value)
        if magnitude < 0.001 || magnitude >= 1_000_000 { return String(format: "%.2e", value) }
        return String(format: "%.4f", value)
    }

    /// Control characters would break the layout: shown escaped.
    private static func visible(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f: out += "?"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
