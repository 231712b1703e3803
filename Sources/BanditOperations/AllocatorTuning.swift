import CMalloc

/// glibc's allocator, tuned for the daemon before its threads start.
///
/// glibc gives threads that allocate at the same time arenas of their own (up to 8 per core),
/// and memory freed into an arena stays there for that arena's next use. The daemon's fetch and
/// apply threads each build and free whole batches, so every arena grows to a batch's worth: in
/// the 4-lane drain of `make bench` peak RSS was 54–55 MiB with glibc's default and 48–51 MiB
/// with one arena, at the same throughput (the threads mostly wait for PostgreSQL, not for the
/// allocator's lock). `MALLOC_ARENA_MAX` in the environment still wins: glibc reads it at start,
/// and it is left alone when set.
public enum AllocatorTuning {
    /// Arenas for the whole process.
    public static let arenas: Int32 = 1

    /// Applies the tuning unless `MALLOC_ARENA_MAX` is set; returns whether it did.
    @discardableResult
    public static func apply(environment: [String: String]) -> Bool {
        guard environment["MALLOC_ARENA_MAX"] == nil else { return false }
        return mallopt(banditd_M_ARENA_MAX, arenas) == 1
    }
}
