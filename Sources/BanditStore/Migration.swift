import PostgresKit

/// One numbered, forward-only migration. Never edit a released one: add the next number.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: SQL

    /// FNV-1a over the SQL text: a recorded migration whose text changed is an error.
    public var checksum: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sql.text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}

extension Migration {
    /// The schema of CONTRACT section 4.
    public static let all: [Migration] = [
        Migration(
            version: 1, name: "contract_v1_schema",
            sql: """
                CREATE TABLE processed_events (
                    event_id     uuid PRIMARY KEY,
                    subject      text NOT NULL,
                    stream       text NOT NULL,
                    stream_seq   bigint NOT NULL,
                    processed_at timestamptz NOT NULL DEFAULT now()
                );

                CREATE TABLE decisions (
                    decision_id       uuid PRIMARY KEY,
                    event_id          uuid NOT NULL UNIQUE,
                    user_id           text NOT NULL,
                    policy            text NOT NULL,
                    policy_version    text NOT NULL,
                    arm_id            text NOT NULL,
                    propensity        float8 NOT NULL CHECK (propensity > 0 AND propensity <= 1),
                    features          float8[] NOT NULL,
                    candidates        text[],
                    probabilities     float8[],
                    explored          boolean,
                    source            text NOT NULL DEFAULT 'prod' CHECK (source IN ('prod', 'synthetic', 'shadow')),
                    occurred_at       timestamptz NOT NULL,
                    rewarded_event_id uuid,
                    reward            float8,
                    CONSTRAINT decisions_reward_pair CHECK ((rewarded_event_id IS NULL) = (reward IS NULL))
                );
                CREATE INDEX decisions_user_policy_idx ON decisions (user_id, policy, source);

                CREATE TABLE bandit_state (
                    user_id    text NOT NULL,
                    policy     text NOT NULL,
                    source     text NOT NULL CHECK (source IN ('prod', 'synthetic', 'shadow')),
                    arm_id     text NOT NULL,
                    dimension  integer NOT NULL CHECK (dimension BETWEEN 1 AND 64),
                    a          float8[] NOT NULL,
                    b          float8[] NOT NULL,
                    n          bigint NOT NULL CHECK (n >= 0),
                    reward_sum float8 NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (user_id, policy, source, arm_id),
                    -- a is d×d row-major, b has d entries, and neither holds a NULL (an element-wise
                    -- sum of arrays of two dimensions pads with NULLs: a changed dimension fails here).
                    CONSTRAINT bandit_state_shape CHECK (
                        cardinality(a) = dimension * dimension AND cardinality(b) = dimension
                        AND array_position(a, NULL) IS NULL AND array_position(b, NULL) IS NULL)
                );

                CREATE TABLE routing_outcomes (
                    event_id         uuid PRIMARY KEY,
                    inference_id     uuid NOT NULL,
                    user_id          text NOT NULL,
                    task_type        text NOT NULL
                        CHECK (task_type IN ('reasoning', 'code', 'extraction', 'chat', 'tool_use', 'embed', 'general')),
                    task_type_source text NOT NULL CHECK (task_type_source IN ('caller', 'classifier', 'default')),
                    policy_version   text NOT NULL,
                    model            text NOT NULL,
                    provider         text NOT NULL,
                    constraint_band  text NOT NULL CHECK (constraint_band IN ('low', 'standard', 'high')),
                    cell             text NOT NULL,
                    reward           float8 NOT NULL CHECK (reward >= 0 AND reward <= 1),
                    latency_ms       float8 NOT NULL CHECK (latency_ms >= 0),
                    cost_usd         float8 NOT NULL CHECK (cost_usd >= 0),
                    completed        boolean NOT NULL,
                    source           text NOT NULL DEFAULT 'prod' CHECK (source IN ('prod', 'synthetic', 'shadow')),
                    occurred_at      timestamptz NOT NULL,
                    received_at      timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX routing_outcomes_source_idx ON routing_outcomes (source);
                CREATE INDEX routing_outcomes_cell_idx ON routing_outcomes (cell);

                CREATE TABLE user_sync (
                    user_id      text NOT NULL,
                    source       text NOT NULL CHECK (source IN ('prod', 'synthetic', 'shadow')),
                    task_count   bigint NOT NULL CHECK (task_count >= 0),
                    last_sync_at timestamptz NOT NULL,
                    PRIMARY KEY (user_id, source)
                );

                CREATE TABLE tip_feedback (
                    event_id    uuid PRIMARY KEY,
                    user_id     text NOT NULL,
                    tip_id      text NOT NULL,
                    action      text NOT NULL CHECK (action IN ('accepted', 'dismissed', 'snoozed', 'ignored')),
                    source      text NOT NULL DEFAULT 'prod' CHECK (source IN ('prod', 'synthetic', 'shadow')),
                    occurred_at timestamptz NOT NULL
                );

                -- Distinct cells per user and source; tier 1 is reasoning, code, extraction, chat.
                CREATE VIEW cell_coverage AS
                SELECT user_id,
                       source,
                       count(DISTINCT cell) AS cells,
                       count(DISTINCT cell) FILTER (WHERE task_type IN ('reasoning', 'code', 'extraction', 'chat'))
                           AS tier1_cells,
                       count(DISTINCT cell) FILTER (WHERE task_type NOT IN ('reasoning', 'code', 'extraction', 'chat'))
                           AS tier2_cells
                FROM routing_outcomes
                GROUP BY user_id, source;
                """),
        // CONTRACT section 8: how a decision got its reward, and when.
        Migration(
            version: 2, name: "decisions_reward_origin",
            sql: """
                ALTER TABLE decisions
                    ADD COLUMN reward_origin text CHECK (reward_origin IN ('event', 'default', 'late')),
                    ADD COLUMN rewarded_at   timestamptz;
                UPDATE decisions SET reward_origin = 'event' WHERE rewarded_event_id IS NOT NULL;
                """),
        // CONTRACT section 3 (v1.1): a reward whose decision has not arrived is parked here, with
        // its message kept whole, instead of spending its delivery budget on redeliveries. Its
        // ledger row is written with it (a redelivery is a duplicate); when the decision lands the
        // reward is applied and the row removed in that transaction, or it gets a verdict
        // (decision.mismatch, decision.already_rewarded) and is dead-lettered; past
        // early_reward_wait_s it is dead-lettered as max_deliveries.
        Migration(
            version: 3, name: "parked_rewards",
            sql: """
                CREATE TABLE parked_rewards (
                    event_id       uuid PRIMARY KEY,
                    decision_id    uuid NOT NULL,
                    user_id        text NOT NULL,
                    source         text NOT NULL CHECK (source IN ('prod', 'synthetic', 'shadow')),
                    reward         float8 NOT NULL CHECK (reward >= -1 AND reward <= 1),
                    occurred_at    timestamptz NOT NULL,
                    subject        text NOT NULL,
                    stream         text NOT NULL,
                    stream_seq     bigint NOT NULL,
                    deliveries     integer NOT NULL,
                    header_names   text[] NOT NULL,
                    header_values  text[] NOT NULL,
                    body           bytea NOT NULL,
                    parked_at      timestamptz NOT NULL DEFAULT now(),
                    verdict        text,
                    verdict_detail text,
                    CONSTRAINT parked_rewards_headers CHECK (cardinality(header_names) = cardinality(header_values))
                );
                CREATE INDEX parked_rewards_decision_idx ON parked_rewards (decision_id);
                CREATE INDEX parked_rewards_parked_at_idx ON parked_rewards (parked_at);

                -- Raises a serialization failure (40001) unless `condition` holds: lets a pipelined
                -- batch abort before its COMMIT when a concurrent writer got in between (the worker
                -- then retries the batch).
                CREATE FUNCTION banditd_require(condition boolean, message text) RETURNS boolean
                LANGUAGE plpgsql AS $$
                BEGIN
                    IF condition IS NOT TRUE THEN
                        RAISE EXCEPTION USING ERRCODE = 'serialization_failure', MESSAGE = message;
                    END IF;
                    RETURN true;
                END
                $$;
                """),
        // CONTRACT section 9: every `report ope` / `report convergence` run, and every
        // `state reset`. `report` keeps the command's whole JSON output (a column the contract
        // does not name: columns may be added).
        Migration(
            version: 4, name: "evaluation_runs_and_state_resets",
            sql: """
                CREATE TABLE evaluation_runs (
                    run_id       uuid PRIMARY KEY,
                    kind         text NOT NULL CHECK (kind IN ('ope', 'convergence')),
                    policy       text NOT NULL,
                    candidate    text,
                    source       text NOT NULL CHECK (source IN ('prod', 'synthetic', 'shadow')),
                    window_start timestamptz,
                    window_end   timestamptz,
                    n            bigint NOT NULL CHECK (n >= 0),
                    estimates    jsonb NOT NULL,
                    passed       boolean NOT NULL,
                    created_at   timestamptz NOT NULL DEFAULT now(),
                    report       jsonb NOT NULL
                );
                CREATE INDEX evaluation_runs_policy_idx ON evaluation_runs (policy, created_at);

                -- One row per (policy, source) whose state rows a reset removed.
                CREATE TABLE state_resets (
                    reset_id uuid PRIMARY KEY,
                    user_id  text NOT NULL,
                    policy   text NOT NULL,
                    source   text NOT NULL CHECK (source IN ('prod', 'synthetic', 'shadow')),
                    rows     bigint NOT NULL CHECK (rows >= 0),
                    reset_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX state_resets_key_idx ON state_resets (user_id, policy, source, reset_at);
                """),
        // CONTRACT section 8: the reward loop. A decision closed with its policy's default reward
        // has a reward and no reward event; open decisions are found by policy and age through a
        // partial index; state rows of a policy with forgetting keep their sums relative to a
        // reference time, with the half-life they were kept with (both null: no forgetting).
        Migration(
            version: 5, name: "reward_loop",
            sql: """
                ALTER TABLE decisions DROP CONSTRAINT decisions_reward_pair;
                ALTER TABLE decisions ADD CONSTRAINT decisions_reward_pair CHECK (
                    (rewarded_event_id IS NULL) = (reward IS NULL)
                    OR (reward_origin = 'default' AND rewarded_event_id IS NULL AND reward IS NOT NULL));
                ALTER TABLE decisions ADD CONSTRAINT decisions_reward_origin_set CHECK (
                    (reward IS NULL) = (reward_origin IS NULL));
                CREATE INDEX decisions_open_idx ON decisions (policy, occurred_at) WHERE reward IS NULL;

                ALTER TABLE bandit_state
                    ADD COLUMN forgetting_ref timestamptz,
                    ADD COLUMN half_life_s    float8 CHECK (half_life_s > 0),
                    ADD CONSTRAINT bandit_state_forgetting CHECK ((forgetting_ref IS NULL) = (half_life_s IS NULL));
                """),
    ]
}
