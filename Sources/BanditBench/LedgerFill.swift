import Foundation
import PostgresKit

/// Pre-grows `processed_events` server-side, with rows shaped like the daemon's: random v4
/// event ids (`gen_random_uuid()`), the headline mix's subjects and streams (70 % feedback.reward,
/// 20 % signals.decision, 10 % feedback.routing), a rising stream sequence and `processed_at`
/// rising evenly over the segment's age range, so the heap is in time order like a ledger written
/// day after day.
///
/// Fastest measured on this machine (2,000,000 rows): `INSERT … SELECT … FROM generate_series`
/// with the two indexes dropped (7.6–10 s under load) beat `COPY … FROM STDIN` fed by a
/// server-side `COPY (SELECT …) TO STDOUT` (10–11.5 s), and rebuilding the indexes afterwards
/// (1.9 s + 1.2 s) is far cheaper than maintaining a random-key B-tree row by row. The primary
/// key is rebuilt 70 % full, about as full as random inserts leave a B-tree (ln 2 ≈ 69 %), so its
/// size is the size a ledger grown by the daemon would have, not a freshly packed 90 %.
struct LedgerFill {
    /// Rows whose `processed_at` runs evenly from `oldestAge` to `newestAge` before now.
    struct Segment {
        var rows: Int
        var oldestAge: Duration
        var newestAge: Duration
    }

    /// Time spent per step, in seconds.
    struct Timing: Codable {
        var insertSeconds = 0.0
        var indexSeconds = 0.0
        /// VACUUM ANALYZE and CHECKPOINT, so that neither autovacuum (the insert threshold) nor a
        /// checkpoint of the load's dirty pages lands inside the measured drain.
        var settleSeconds = 0.0

        var totalSeconds: Double { insertSeconds + indexSeconds + settleSeconds }
    }

    static let day: Duration = .seconds(86_400)

    /// Appends the segments' rows to an empty or small ledger and rebuilds its indexes.
    static func grow(_ database: PostgresConnection, segments: [Segment]) throws -> Timing {
        var timing = Timing()
        guard segments.contains(where: { $0.rows > 0 }) else { return timing }
        var clock = ContinuousClock.now
        func lap() -> Double {
            let now = ContinuousClock.now
            defer { clock = now }
            return (now - clock).seconds
        }
        try database.query("SET maintenance_work_mem = '1GB'")
        try database.query("ALTER TABLE processed_events DROP CONSTRAINT processed_events_pkey")
        try database.query("DROP INDEX processed_events_processed_at_idx")
        var sequence = 0
        for segment in segments where segment.rows > 0 {
            try database.query(
                """
                INSERT INTO processed_events (event_id, subject, stream, stream_seq, processed_at)
                SELECT gen_random_uuid(),
                       CASE WHEN g % 20 < 14 THEN 'feedback.reward'
                            WHEN g % 20 < 18 THEN 'signals.decision' ELSE 'feedback.routing' END,
                       CASE WHEN g % 20 BETWEEN 14 AND 17 THEN 'SIGNALS' ELSE 'FEEDBACK' END,
                       $4::bigint + g,
                       now() - make_interval(secs => $2::float8)
                           + make_interval(secs => ($2::float8 - $3::float8) * (g - 1) / $1::bigint)
                FROM generate_series(1, $1::bigint) AS g
                """,
                [
                    String(segment.rows), String(segment.oldestAge.seconds), String(segment.newestAge.seconds),
                    String(sequence),
                ])
            sequence += segment.rows
        }
        timing.insertSeconds = lap()
        try database.query(
            "CREATE UNIQUE INDEX processed_events_pkey ON processed_events (event_id) WITH (fillfactor = 70)")
        try database.query(
            "ALTER TABLE processed_events ADD CONSTRAINT processed_events_pkey PRIMARY KEY USING INDEX processed_events_pkey"
        )
        try database.query("ALTER INDEX processed_events_pkey RESET (fillfactor)")
        try database.query("CREATE INDEX processed_events_processed_at_idx ON processed_events (processed_at)")
        timing.indexSeconds = lap()
        try database.query("RESET maintenance_work_mem")
        try database.query("VACUUM (ANALYZE) processed_events")
        try database.query("CHECKPOINT")
        timing.settleSeconds = lap()
        return timing
    }

    /// The ledger's on-disk sizes and the memory that could cache it.
    static func sizes(_ database: PostgresConnection) throws -> LedgerSizes {
        let row = try database.query(
            """
            SELECT pg_relation_size('processed_events'), pg_indexes_size('processed_events'),
                   pg_total_relation_size('processed_events'), pg_relation_size('processed_events_pkey'),
                   pg_relation_size('processed_events_processed_at_idx'),
                   pg_size_bytes(current_setting('shared_buffers'))
            """
        ).rows[0]
        return LedgerSizes(
            tableBytes: try row.int(0), indexesBytes: try row.int(1), totalBytes: try row.int(2),
            primaryKeyBytes: try row.int(3), processedAtIndexBytes: try row.int(4),
            sharedBuffersBytes: try row.int(5), memory: MemoryInfo.current())
    }
}

/// From /proc/meminfo (Linux), in KiB.
struct MemoryInfo: Codable {
    var totalKiB = 0
    /// What the kernel could hand out without swapping (free + reclaimable page cache).
    var availableKiB = 0
    /// The page cache now (`Cached`).
    var pageCacheKiB = 0

    static func current() -> MemoryInfo {
        var info = MemoryInfo()
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return info }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let value = Int(fields[1]) else { continue }
            switch fields[0] {
            case "MemTotal:": info.totalKiB = value
            case "MemAvailable:": info.availableKiB = value
            case "Cached:": info.pageCacheKiB = value
            default: break
            }
        }
        return info
    }
}
