import BanditCore
import PostgresKit

/// One routing cell `{task_type}|{model}|{constraint_band}` and how many outcomes it has.
public struct CellCount: Sendable, Equatable {
    public var cell: String
    public var count: Int
    /// 1 (reasoning, code, extraction, chat) or 2 (the rest), CONTRACT section 4.
    public var tier: Int

    public init(cell: String, count: Int, tier: Int) {
        self.cell = cell
        self.count = count
        self.tier = tier
    }
}

extension LearningReads {
    /// The `limit` most frequent cells of `routing_outcomes` under the filter, most outcomes
    /// first (ties: cell in byte order).
    public func topCells(user: String?, source: String?, limit: Int) throws(PostgresError) -> [CellCount] {
        let rows = try connection.query(
            """
            SELECT cell, task_type, count(*) FROM routing_outcomes
            WHERE ($1::text IS NULL OR user_id = $1) AND ($2::text IS NULL OR source = $2)
            GROUP BY cell, task_type
            ORDER BY count(*) DESC, cell COLLATE "C"
            LIMIT $3
            """, [user, source, String(limit)])
        var cells: [CellCount] = []
        for row in rows.rows {
            // task_type is checked by the table; an unknown one would be a newer banditd's: tier 2.
            let tier = TaskType(rawValue: try row.string(1))?.tier.rawValue ?? TaskTier.tier2.rawValue
            cells.append(CellCount(cell: try row.string(0), count: try row.int(2), tier: tier))
        }
        return cells
    }
}
