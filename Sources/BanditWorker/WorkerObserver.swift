/// What a worker reports as it goes: the daemon feeds health, metrics and the watchdog from it.
/// Called from worker threads; implementations must be cheap and thread-safe.
public protocol WorkerObserver: Sendable {
    /// Every loop iteration, including empty fetches: the watchdog's proof of progress.
    func loopBeat(role: String, worker: Int)
    /// A batch was fetched; `redelivered` counts messages with a delivery count above 1.
    func fetched(role: String, count: Int, redelivered: Int)
    /// How each message of a batch was settled, and how long the apply transaction took.
    func settled(role: String, acked: Int, naked: Int, deadLettered: [String], applySeconds: Double?)
    /// PostgreSQL reachability as the worker last saw it; `reconnected` after an outage ended.
    func database(connected: Bool, reconnected: Bool)
}
