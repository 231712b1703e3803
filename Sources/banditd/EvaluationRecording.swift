import BanditStore
import PostgresKit

/// Records a run in `evaluation_runs`, or exits 1: an evaluation that was asked to be recorded
/// and was not must not look like a success.
enum EvaluationRecording {
    static func record(_ run: EvaluationRun, on connection: PostgresConnection) {
        do {
            try EvaluationRuns(connection: connection).record(run)
        } catch {
            let hint = error.sqlState == .undefinedTable ? " (run `banditd migrate`, or pass --no-record)" : ""
            CommandOutput.fail("cannot record the run in evaluation_runs: \(error)\(hint)")
        }
    }
}
