import BanditCore
import BanditMath
import Foundation
import PostgresKit

/// Applies a batch of valid events in one transaction, in two pipelined round trips:
///
/// 1. **Read** (one pipeline: BEGIN, ledger insert, the reads): the ledger insert
///    `ON CONFLICT DO NOTHING RETURNING` decides which events are new, authoritatively even when
///    two daemons race; decisions already logged, parked rewards waiting for this batch's
///    decisions, the decisions this batch's rewards join (`FOR UPDATE`, sorted), and the
///    `bandit_state` rows every update touches (binary) — except the rows this lane wrote last
///    and still holds in its `StateCache`.
/// 2. **Write** (one pipeline ending in COMMIT): the new sums are computed here in Swift — known
///    row + the batch's delta per key — and written back whole, each update naming the row's
///    version (ctid, xmin, key); new rows are inserted; decisions, routing outcomes, syncs and
///    tips are inserted; rewards whose decision is missing are parked with their message
///    (CONTRACT section 3, v1.1).
///
/// Every value travels in binary (`PostgresValue`), a column of the batch per parameter, so the
/// server parses no text array and does no per-element arithmetic.
///
/// Optimistic first: state rows are read without a lock (or not at all, when cached), and a
/// check inside the write pipeline raises a serialization failure before COMMIT if any row is no
/// longer the version the sums were computed from (another daemon, the window closer or a reset
/// changed it), or if a concurrent daemon created a row or logged a decision meanwhile. Then the
/// batch runs once more the careful way: every state row read `FOR UPDATE`, in the one lock
/// order (decisions by id, then state rows by key, bytewise), which always makes progress.
public struct BatchApplier: Sendable {
    /// The configured policies: their forgetting half-lives weigh the state updates.
    public let policies: PolicyRegistry

    public init(policies: PolicyRegistry) {
        self.policies = policies
    }

    /// Runs the whole batch in one transaction and returns one outcome per item, in order.
    /// Throws `PostgresError` when the transaction fails; nothing is committed then (a failed
    /// transaction is rolled back before the error is thrown). With a `cache` (the lane's), the
    /// optimistic attempt comes first and a conflict is retried at once with the rows locked.
    public func apply(_ items: [BatchItem], on connection: PostgresConnection, cache: StateCache? = nil)
        throws(PostgresError) -> [ApplyOutcome]
    {
        guard !items.isEmpty else { return [] }
        if let cache {
            do {
                return try attempt(items, on: connection, cache: cache, locking: false)
            } catch  where error.category == .retryable {
                cache.conflicted()
            }
        }
        return try attempt(items, on: connection, cache: cache, locking: true)
    }

    private func attempt(_ items: [BatchItem], on connection: PostgresConnection, cache: StateCache?, locking: Bool)
        throws(PostgresError) -> [ApplyOutcome]
    {
        var batch = Batch(items, policies: policies, now: Date(), cache: locking ? nil : cache)
        do {
            try batch.read(connection)
            try batch.decide(connection)
            let writes = try batch.writes()
            let results = try connection.pipeline(writes + [PostgresStatement("COMMIT")])
            if let cache {
                // Committed: remember the rows as written. (If their versions cannot be read, the
                // rows are simply read again next time.)
                let stateResults = results[
                    batch.stateStatementsAt..<batch.stateStatementsAt + batch.stateWrite.statements.count]
                if let arms = try? batch.stateWrite.writtenArms(stateResults) {
                    cache.store(arms)
                } else {
                    cache.forget(batch.knownKeys)
                }
            }
            return batch.itemOutcomes()
        } catch {
            if connection.inTransaction { _ = try? connection.query("ROLLBACK") }
            cache?.forget(batch.knownKeys)
            throw error
        }
    }
}

/// One batch's transaction: what was read, what it decided, what it writes.
private struct Batch {
    let items: [BatchItem]
    let policies: PolicyRegistry
    /// The transaction's clock for forgetting (a row converted to a changed half-life).
    let now: Date
    /// The first item of each event_id; later copies share its outcome.
    var firstIndex: [UUID: Int] = [:]
    var representatives: [Int] = []

    // Read
    var newIDs: Set<UUID> = []
    var loggedBy: [UUID: UUID] = [:]
    var parkedForDecisions: [JoiningReward] = []
    var lockedDecisions: [UUID: LoggedDecision] = [:]
    /// Rows as read, or as cached (optimistic attempt).
    var storedState: [StateKey: StoredArm] = [:]
    /// Every state key whose row is known (read, cached, or known to be missing).
    var knownKeys: Set<StateKey> = []
    /// The optimistic attempt's cache (nil: rows are read `FOR UPDATE`).
    let cache: StateCache?
    var locking: Bool { cache == nil }

    // Decided
    var outcomes: [UUID: ApplyOutcome] = [:]
    var updates = StateUpdates()
    var acceptedDecisions: [Decision] = []
    var decisionRewards: [(decisionID: UUID, eventID: UUID, reward: Double, origin: RewardOrigin)] = []
    /// Parked rewards that take a decision of this batch: written with the decision's row.
    var rewardedAtInsert: [UUID: (eventID: UUID, reward: Double)] = [:]
    var parking: [(reward: Reward, decisionID: UUID, origin: MessageOrigin)] = []
    var parkedApplied: [UUID] = []
    var parkedVerdicts: [(eventID: UUID, reason: RejectionReason, detail: String)] = []
    var routings: [RoutingOutcome] = []
    var syncs: [StateKey.UserSource: TaskSynced] = [:]
    var tips: [TipFeedback] = []

    // Written
    var stateWrite = StateWrite()
    /// Where the state statements sit in the write pipeline.
    var stateStatementsAt = 0

    init(_ items: [BatchItem], policies: PolicyRegistry, now: Date, cache: StateCache?) {
        self.items = items
        self.policies = policies
        self.now = now
        self.cache = cache
        for (index, item) in items.enumerated() where firstIndex[item.event.eventID] == nil {
            firstIndex[item.event.eventID] = index
            representatives.append(index)
        }
    }

    var events: [Event] { representatives.map { items[$0].event } }

    var decisionsOfBatch: [Decision] {
        events.compactMap { if case .decision(let decision) = $0 { decision } else { nil } }
    }

    var joiningRewards: [Reward] {
        events.compactMap {
            if case .reward(let reward) = $0, case .decision = reward.target { reward } else { nil }
        }
    }

    /// State keys known from the events themselves (inline rewards, routing outcomes).
    var directKeys: [StateKey] {
        var keys: Set<StateKey> = []
        for event in events {
            switch event {
            case .reward(let reward):
                if case .inline(let policy, let armID, _) = reward.target {
                    keys.insert(
                        StateKey(userID: reward.userID, policy: policy, source: reward.source.rawValue, armID: armID))
                }
            case .routing(let routing):
                if let update = routing.banditUpdate {
                    keys.insert(
                        StateKey(
                            userID: routing.userID, policy: update.policy, source: routing.source.rawValue,
                            armID: routing.model))
                }
            default: break
            }
        }
        return keys.sorted()
    }

    // MARK: 1. Read

    mutating func read(_ connection: PostgresConnection) throws(PostgresError) {
        let decisions = decisionsOfBatch
        let joining = joiningRewards
        let keys = directKeys
        let joinedIDs = Array(
            Set(
                joining.compactMap { reward -> UUID? in
                    if case .decision(let id) = reward.target { id } else { nil }
                })
        ).sorted { $0.lowercased < $1.lowercased }

        var statements = [PostgresStatement("BEGIN"), ledgerInsert()]
        var decisionsAt: Int?
        var parkedAt: Int?
        var joinedAt: Int?
        var stateAt: Int?
        if !decisions.isEmpty {
            let ids = PostgresValue.uuidArray(decisions.map(\.decisionID))
            decisionsAt = statements.count
            statements.append(
                PostgresStatement(
                    "SELECT decision_id, event_id FROM decisions WHERE decision_id = ANY($1::uuid[])", [ids]))
            // Rewards parked for these decisions; rows the sweeper holds are its to join.
            parkedAt = statements.count
            statements.append(
                PostgresStatement(
                    """
                    SELECT event_id, decision_id, user_id, source, reward FROM parked_rewards
                    WHERE decision_id = ANY($1::uuid[]) AND verdict IS NULL
                    ORDER BY parked_at, event_id
                    FOR UPDATE SKIP LOCKED
                    """, [ids]))
        }
        if !joinedIDs.isEmpty {
            joinedAt = statements.count
            statements.append(StoreStatements.lockDecisions(joinedIDs))
        }
        var keysToRead = keys
        if let cache {
            let cached = cache.arms(keys)
            storedState = cached
            if !cached.isEmpty { keysToRead = keys.filter { cached[$0] == nil } }
        }
        if !keysToRead.isEmpty || !joinedIDs.isEmpty {
            // Last: its result is the largest (see `PostgresConnection.pipeline`).
            stateAt = statements.count
            statements.append(StoreStatements.lockState(keys: keysToRead, decisionsOf: joinedIDs, locking: locking))
        }

        let results = try connection.pipeline(statements)
        for row in 0..<results[1].rowCount { newIDs.insert(try results[1].uuid(row, 0)) }
        if let decisionsAt {
            let result = results[decisionsAt]
            for row in 0..<result.rowCount { loggedBy[try result.uuid(row, 0)] = try result.uuid(row, 1) }
        }
        if let parkedAt {
            let result = results[parkedAt]
            for row in 0..<result.rowCount {
                parkedForDecisions.append(
                    JoiningReward(
                        eventID: try result.uuid(row, 0), decisionID: try result.uuid(row, 1),
                        userID: try result.text(row, 2), source: try result.text(row, 3),
                        reward: try result.double(row, 4)))
            }
        }
        if let joinedAt {
            for decision in try StoreStatements.lockedDecisions(results[joinedAt]) {
                lockedDecisions[decision.id] = decision
                knownKeys.insert(decision.stateKey)
            }
        }
        if let stateAt {
            for arm in try StoredArm.rows(of: results[stateAt]) { storedState[arm.key] = arm }
        }
        knownKeys.formUnion(keys)
    }

    private func ledgerInsert() -> PostgresStatement {
        PostgresStatement(
            """
            INSERT INTO processed_events (event_id, subject, stream, stream_seq)
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[])
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id
            """,
            [
                .uuidArray(representatives.map { items[$0].event.eventID }),
                .textArray(representatives.map { items[$0].origin.subject }),
                .textArray(representatives.map { items[$0].origin.stream }),
                .int64Array(representatives.map { Int64(items[$0].origin.streamSequence) }),
            ])
    }

    // MARK: 2. Decide

    mutating func decide(_ connection: PostgresConnection) throws(PostgresError) {
        for index in representatives where !newIDs.contains(items[index].event.eventID) {
            outcomes[items[index].event.eventID] = .duplicate
        }
        var decisionsInBatch: [UUID: Decision] = [:]
        var rewardedInBatch: [UUID: UUID] = [:]
        for index in representatives where newIDs.contains(items[index].event.eventID) {
            let item = items[index]
            switch item.event {
            case .decision(let decision):
                if let other = loggedBy[decision.decisionID] {
                    outcomes[decision.eventID] = .rejected(
                        .decisionDuplicate,
                        detail:
                            "decision_id \(decision.decisionID.lowercased) is already logged by event \(other.lowercased)"
                    )
                } else if decisionsInBatch[decision.decisionID] != nil {
                    outcomes[decision.eventID] = .rejected(
                        .decisionDuplicate,
                        detail: "decision_id \(decision.decisionID.lowercased) appears twice in one batch")
                } else {
                    decisionsInBatch[decision.decisionID] = decision
                    acceptedDecisions.append(decision)
                }
            case .reward(let reward):
                switch reward.target {
                case .inline(let policy, let armID, let features):
                    updates.observe(
                        StateKey(userID: reward.userID, policy: policy, source: reward.source.rawValue, armID: armID),
                        features: features, reward: reward.reward, at: reward.occurredAt)
                case .decision(let decisionID):
                    let joining = JoiningReward(
                        eventID: reward.eventID, decisionID: decisionID, userID: reward.userID,
                        source: reward.source.rawValue, reward: reward.reward)
                    let decision = lockedDecisions[decisionID]
                    switch RewardJoin.judge(joining, decision: decision, earlierInBatch: rewardedInBatch[decisionID]) {
                    case .decisionMissing:
                        parking.append((reward, decisionID, item.origin))
                        outcomes[reward.eventID] = .parked
                    case .rejected(let reason, let detail):
                        outcomes[reward.eventID] = .rejected(reason, detail: detail)
                    case .onTime:
                        rewardedInBatch[decisionID] = reward.eventID
                        record(joining, decision: decision!, origin: .event)
                    case .late(let defaultReward):
                        rewardedInBatch[decisionID] = reward.eventID
                        record(joining, decision: decision!, origin: .late, correcting: defaultReward)
                        outcomes[reward.eventID] = .appliedLate
                    }
                }
            case .routing(let routing):
                routings.append(routing)
                if let update = routing.banditUpdate {
                    updates.observe(
                        StateKey(
                            userID: routing.userID, policy: update.policy, source: routing.source.rawValue,
                            armID: routing.model),
                        features: update.features, reward: routing.reward, at: routing.occurredAt)
                }
            case .taskSynced(let sync):
                // Only the newest per (user, source) can win; the upsert may touch a row once.
                let key = StateKey.UserSource(userID: sync.userID, source: sync.source.rawValue)
                if let current = syncs[key], current.occurredAt >= sync.occurredAt { continue }
                syncs[key] = sync
            case .tipFeedback(let tip):
                tips.append(tip)
            }
        }

        // Parked rewards that waited for a decision of this batch: the first one takes it.
        var parkedKeys: Set<StateKey> = []
        for parked in parkedForDecisions {
            guard let decision = decisionsInBatch[parked.decisionID] else { continue }
            let logged = LoggedDecision(decision)
            switch RewardJoin.judge(parked, decision: logged, earlierInBatch: rewardedInBatch[parked.decisionID]) {
            case .onTime:
                rewardedInBatch[parked.decisionID] = parked.eventID
                updates.observe(
                    logged.stateKey, features: logged.features, reward: parked.reward, at: logged.occurredAt)
                rewardedAtInsert[parked.decisionID] = (parked.eventID, parked.reward)
                parkedApplied.append(parked.eventID)
                if !knownKeys.contains(logged.stateKey) { parkedKeys.insert(logged.stateKey) }
            case .rejected(let reason, let detail):
                parkedVerdicts.append((parked.eventID, reason, detail))
            case .late, .decisionMissing:
                break  // a decision of this batch is neither closed nor missing
            }
        }
        if !parkedKeys.isEmpty {
            // A second, small read: only when parked rewards joined (their keys were unknown).
            let keys = parkedKeys.sorted()
            var keysToRead = keys
            if let cache {
                let cached = cache.arms(keys)
                storedState.merge(cached) { $1 }
                keysToRead = keys.filter { cached[$0] == nil }
            }
            if !keysToRead.isEmpty {
                let read = StoreStatements.lockState(keys: keysToRead, decisionsOf: [], locking: locking)
                for arm in try StoredArm.rows(of: try connection.query(read.sql, values: read.values)) {
                    storedState[arm.key] = arm
                }
            }
            knownKeys.formUnion(keys)
        }

        for index in representatives {
            let id = items[index].event.eventID
            if outcomes[id] == nil { outcomes[id] = .applied }
        }
    }

    private mutating func record(
        _ reward: JoiningReward, decision: LoggedDecision, origin: RewardOrigin, correcting defaultReward: Double? = nil
    ) {
        decisionRewards.append((decision.id, reward.eventID, reward.reward, origin))
        if let defaultReward {
            updates.correct(
                decision.stateKey, features: decision.features, by: reward.reward - defaultReward,
                at: decision.occurredAt)
        } else {
            updates.observe(
                decision.stateKey, features: decision.features, reward: reward.reward, at: decision.occurredAt)
        }
    }

    // MARK: 3. Write

    mutating func writes() throws(PostgresError) -> [PostgresStatement] {
        var statements: [PostgresStatement] = []
        // Whatever cannot apply leaves the ledger again (parked rewards keep their row).
        let notApplied = representatives.map { items[$0].event.eventID }.filter { id in
            guard newIDs.contains(id), case .rejected = outcomes[id] else { return false }
            return true
        }
        if !notApplied.isEmpty {
            statements.append(
                PostgresStatement(
                    "DELETE FROM processed_events WHERE event_id = ANY($1::uuid[])", [.uuidArray(notApplied)]))
        }
        if !acceptedDecisions.isEmpty {
            statements.append(StoreStatements.insertDecisions(acceptedDecisions, rewards: rewardedAtInsert))
        }
        if !decisionRewards.isEmpty { statements.append(StoreStatements.rewardDecisions(decisionRewards)) }
        if !parking.isEmpty { statements.append(StoreStatements.park(parking)) }
        if !parkedApplied.isEmpty {
            statements.append(
                PostgresStatement(
                    "DELETE FROM parked_rewards WHERE event_id = ANY($1::uuid[])", [.uuidArray(parkedApplied)]))
        }
        if !parkedVerdicts.isEmpty { statements.append(StoreStatements.parkedVerdicts(parkedVerdicts)) }
        stateWrite = try StoreStatements.writeState(
            updates, stored: storedState, knownKeys: knownKeys, policies: policies, now: now)
        stateStatementsAt = statements.count
        statements += stateWrite.statements
        if !routings.isEmpty { statements.append(StoreStatements.insertRoutings(routings)) }
        if !syncs.isEmpty { statements.append(StoreStatements.upsertSyncs(Array(syncs.values))) }
        if !tips.isEmpty { statements.append(StoreStatements.insertTips(tips)) }
        return statements
    }

    // MARK: Outcomes

    func itemOutcomes() -> [ApplyOutcome] {
        items.enumerated().map { index, item in
            let outcome = outcomes[item.event.eventID] ?? .duplicate
            // A later copy of an event in the same batch is a duplicate of the first one's effect.
            if firstIndex[item.event.eventID] != index && [.applied, .appliedLate, .parked].contains(outcome) {
                return .duplicate
            }
            return outcome
        }
    }
}

extension LoggedDecision {
    init(_ decision: Decision) {
        self.init(
            id: decision.decisionID, userID: decision.userID, source: decision.source.rawValue,
            policy: decision.policy, armID: decision.armID, features: decision.features,
            occurredAt: decision.occurredAt)
    }

    var stateKey: StateKey { StateKey(userID: userID, policy: policy, source: source, armID: armID) }
}
