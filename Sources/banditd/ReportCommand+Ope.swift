import ArgumentParser
import BanditConfig
import BanditCore
import BanditMath
import BanditSimulation
import BanditStore
import Foundation
import PostgresKit

extension ReportCommand {
    /// `banditd report ope` (CONTRACT section 9).
    struct Ope: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ope",
            abstract: "Off-policy estimates of a candidate policy on logged decisions, with 95 % intervals and a gate.",
            discussion: """
                Reads the policy's decisions of one source (default prod: synthetic and shadow decisions never \
                enter a prod evaluation) in [--since, --until). Decisions without a reward or without logged \
                candidates are counted and skipped. A deterministic split by decision_id holds out --holdout of \
                them; ridge state per arm (the policy's λ, all users summed; --per-user: each user's own) is \
                fitted on the rest. Candidates: learned (greedy on that state), logging (the logged policy; \
                its value is the observed mean reward), uniform (uniform over the logged candidates). \
                Estimators on the held-out decisions: IPS, SNIPS, DM (the same ridge model as reward model), \
                DR, Switch-DR (importance-weighted correction only where the weight ≤ --switch-threshold), \
                each with a seeded 95 % percentile-bootstrap interval. passed: the candidate's DR lower bound \
                exceeds the logging policy's observed value, by at least --min-lift, and so does the lower \
                bound of the paired lift (DR − observed mean on the same resamples). With --gate the exit \
                status is 3 when not passed. Each run is recorded in evaluation_runs unless --no-record. \
                Exit status: 0, 3 (gate not passed), 1 (error).
                """
        )

        @OptionGroup var options: ConfigurationOptions

        @Option(help: "Configured policy name.")
        var policy: String

        @Option(help: "learned | logging | uniform.")
        var candidate: String = EvaluationCandidate.learned.rawValue

        @Option(help: "prod | synthetic | shadow: the only source read.")
        var source: String = EventSource.prod.rawValue

        @Option(help: "Only decisions with occurred_at ≥ T (RFC 3339, e.g. 2026-11-01T00:00:00Z).")
        var since: String?

        @Option(help: "Only decisions with occurred_at < T (RFC 3339).")
        var until: String?

        @Option(help: "Held-out fraction of the decisions (0 < F < 1).")
        var holdout: Double = OffPolicySettings.defaultHoldout

        @Option(help: "Bootstrap resamples.")
        var bootstrap: Int = OffPolicySettings.defaultResamples

        @Option(help: "Bootstrap seed.")
        var seed: UInt64 = OffPolicySettings.defaultSeed

        @Option(help: "Required lift of the DR lower bound over the logging policy's observed value.")
        var minLift: Double = 0

        @Flag(help: "Exit with status 3 unless passed.")
        var gate = false

        @Flag(help: "Do not record the run in evaluation_runs.")
        var noRecord = false

        @Option(help: "Switch-DR: largest importance weight whose correction is used.")
        var switchThreshold: Double = OffPolicySettings.defaultSwitchThreshold

        @Flag(help: "learned: each user's own state instead of all users' state summed per arm.")
        var perUser = false

        @Option(help: "An answer key of `banditd simulate --out`: evaluate its agents only and add the true value.")
        var planted: String?

        @Option(help: "json | table.")
        var format: OutputFormat = .json

        func validate() throws {
            guard EvaluationCandidate(rawValue: candidate) != nil else {
                throw ValidationError("--candidate must be learned, logging or uniform")
            }
            guard EventSource(rawValue: source) != nil else {
                throw ValidationError("--source must be prod, synthetic or shadow")
            }
            guard holdout > 0 && holdout < 1 else {
                throw ValidationError("--holdout must lie strictly between 0 and 1")
            }
            guard bootstrap >= 1 && bootstrap <= 100_000 else { throw ValidationError("--bootstrap must be 1…100000") }
            guard minLift.isFinite else { throw ValidationError("--min-lift must be a finite number") }
            guard switchThreshold >= 0 && !switchThreshold.isNaN else {
                throw ValidationError("--switch-threshold must be ≥ 0 (inf: Switch-DR equals DR)")
            }
            for (name, value) in [("--since", since), ("--until", until)] {
                if let value, TimestampArgument.parse(value) == nil {
                    throw ValidationError("\(name) must be an RFC 3339 time with an offset, got \"\(value)\"")
                }
            }
        }

        func run() throws {
            let configuration = try options.load()
            guard let definition = configuration.policies[policy] else {
                let names = configuration.policies.policies.map(\.name).joined(separator: ", ")
                CommandOutput.fail("unknown policy \"\(policy)\" (configured: \(names))")
            }
            let start = since.flatMap(TimestampArgument.parse)
            let end = until.flatMap(TimestampArgument.parse)
            var key: AnswerKey?
            if let planted {
                let loaded = AnswerKeyFile.load(planted)
                guard loaded.policy == policy else {
                    CommandOutput.fail("the answer key is of policy \(loaded.policy), not \(policy)")
                }
                key = loaded
            }
            let settings = OffPolicySettings(
                candidate: EvaluationCandidate(rawValue: candidate)!, holdout: holdout, lambda: definition.lambda,
                resamples: bootstrap, seed: seed, switchThreshold: switchThreshold, perUserState: perUser)
            let connection: PostgresConnection
            do {
                connection = try PostgresConnection(conninfo: configuration.postgres.url)
            } catch {
                CommandOutput.fail("\(error)")
            }
            defer { connection.close() }
            let decisions: EvaluationDecisions
            do {
                decisions = try LearningReads(connection: connection).evaluationDecisions(
                    policy: policy, source: source, since: start, until: end, users: key?.agents)
            } catch {
                CommandOutput.fail("\(error)")
            }
            let evaluation = OffPolicyEvaluation(
                interactions: decisions.interactions, dimension: definition.dimension, settings: settings)
            let report = OpeReport(
                policy: policy, source: source, since: start, until: end, minLift: minLift, gate: gate,
                decisions: decisions, evaluation: evaluation, key: key)
            let runID = noRecord ? nil : UUID()
            let output = report.value(runID: runID)
            if let runID {
                EvaluationRecording.record(
                    EvaluationRun(
                        runID: runID, kind: .ope, policy: policy, candidate: candidate, source: source,
                        windowStart: start, windowEnd: end, n: evaluation.count, estimates: report.estimatesValue.json,
                        passed: report.passed, report: output.json),
                    on: connection)
            }
            CommandOutput.print(output.rendered(format))
            if gate && !report.passed {
                Foundation.exit(3)
            }
        }
    }
}

/// The output of `report ope`: the contract's members first, then the settings used.
struct OpeReport {
    let policy: String
    let source: String
    let since: Date?
    let until: Date?
    let minLift: Double
    let gate: Bool
    let decisions: EvaluationDecisions
    let evaluation: OffPolicyEvaluation
    let key: AnswerKey?

    /// CONTRACT section 9's rule — the candidate's DR lower bound exceeds the logging policy's
    /// observed value, by at least `minLift` (with `minLift` 0: strictly exceeds) — and the same
    /// for the paired lift: the lower bound of DR − observed mean over the same resamples. The
    /// second condition keeps a candidate no better than the logging policy from passing because
    /// DR (a control variate) is far less noisy than the observed mean it is compared with (see
    /// README, "Evaluating a new policy"). False without data.
    var passed: Bool {
        guard let lo = evaluation.estimates[.dr]?.lo, let logging = evaluation.loggingValue,
            let liftLo = evaluation.drLift.lo
        else { return false }
        return lo > logging && lo - logging >= minLift && liftLo > 0 && liftLo >= minLift
    }

    var estimatesValue: ReportValue {
        .object(
            OffPolicyEstimator.allCases.map { estimator in
                let estimate = evaluation.estimates[estimator]
                return (
                    estimator.rawValue,
                    .object([
                        ("value", .number(estimate?.value)), ("lo", .number(estimate?.lo)),
                        ("hi", .number(estimate?.hi)),
                    ])
                )
            })
    }

    func value(runID: UUID?) -> ReportValue {
        let settings = evaluation.settings
        let margin: Double? = evaluation.estimates[.dr]?.lo.flatMap { lo in evaluation.loggingValue.map { lo - $0 } }
        var members: [(String, ReportValue)] = [
            ("policy", .string(policy)),
            ("candidate", .string(settings.candidate.rawValue)),
            ("source", .string(source)),
            ("n", .integer(evaluation.count)),
            (
                "skipped",
                .object([
                    ("no_reward", .integer(decisions.withoutReward)),
                    ("no_candidates", .integer(decisions.withoutCandidates)),
                    ("malformed", .integer(evaluation.malformedCount)),
                ])
            ),
            ("effective_sample_size", .number(evaluation.effectiveSampleSize)),
            ("logging_value", .number(evaluation.loggingValue)),
            ("estimates", estimatesValue),
            ("passed", .bool(passed)),
            ("min_lift", .number(minLift)),
            ("dr_lo_over_logging", .number(margin)),
            (
                "lift",
                .object([
                    ("value", .number(evaluation.drLift.value)), ("lo", .number(evaluation.drLift.lo)),
                    ("hi", .number(evaluation.drLift.hi)),
                ])
            ),
            ("gate", .bool(gate)),
            ("n_training", .integer(evaluation.trainingCount)),
            (
                "window",
                .object([
                    ("since", .string(since.map(PostgresText.timestamp))),
                    ("until", .string(until.map(PostgresText.timestamp))),
                ])
            ),
            (
                "settings",
                .object([
                    ("holdout", .number(settings.holdout)), ("bootstrap", .integer(settings.resamples)),
                    ("seed", .integer(Int64(bitPattern: settings.seed))),
                    (
                        "switch_threshold",
                        settings.switchThreshold.isFinite ? .number(settings.switchThreshold) : .string("inf")
                    ),
                    ("lambda", .number(settings.lambda)),
                    ("state", .string(settings.perUserState ? "per_user" : "pooled")),
                ])
            ),
            ("run_id", .string(runID.map { PostgresText.uuid($0) })),
        ]
        if let key {
            let truth = PlantedTruth(key: key).value(of: evaluation.heldOut)
            func each(_ body: (EstimateInterval) -> ReportValue) -> ReportValue {
                .object(
                    OffPolicyEstimator.allCases.map { estimator in
                        (estimator.rawValue, evaluation.estimates[estimator].map(body) ?? .null)
                    })
            }
            members.append(
                (
                    "planted",
                    .object([
                        ("seed", .integer(Int64(bitPattern: key.seed))),
                        ("true_value", .number(truth)),
                        (
                            "relative_error",
                            each { estimate in
                                guard let truth, let value = estimate.value else { return .null }
                                return .number(Swift.abs(value - truth) / Swift.abs(truth))
                            }
                        ),
                        (
                            "covered",
                            each { estimate in
                                guard let truth, let lo = estimate.lo, let hi = estimate.hi else { return .null }
                                return .bool(lo <= truth && truth <= hi)
                            }
                        ),
                    ])
                ))
        }
        return .object(members)
    }
}
