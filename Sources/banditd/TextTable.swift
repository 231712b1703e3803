/// Aligned text columns for a person at a terminal: a header, a rule, the rows; two spaces
/// between columns; numeric columns right-aligned, the rest left-aligned.
struct TextTable {
    enum Alignment {
        case left
        case right
    }

    var headers: [String]
    var alignments: [Alignment]
    var rows: [[String]]

    init(headers: [String], alignments: [Alignment]? = nil, rows: [[String]]) {
        precondition(rows.allSatisfy { $0.count == headers.count }, "every row needs one cell per column")
        self.headers = headers
        self.alignments = alignments ?? headers.map { _ in .left }
        self.rows = rows
    }

    var rendered: String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                let last = index == cells.count - 1
                switch alignments[index] {
                case .right: parts.append(padding + cell)
                case .left: parts.append(last ? cell : cell + padding)
                }
            }
            return parts.joined(separator: "  ")
        }
        var lines = [line(headers), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        lines += rows.map(line)
        return lines.joined(separator: "\n")
    }
}
