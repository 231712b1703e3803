import BanditCore
import BanditStore
import BanditTopology
import BanditWorker
import Foundation
import Logging
import NATSKit
import PostgresKit
import Synchronization
import TestSupport

/// A real nats-server (its own, per test: the stream names are fixed), a fresh migrated database
/// on the suite's PostgreSQL, the contract's streams and consumers, and worker threads.
final class PipelineHarness: Sendable {
    let nats: NATSServer
    let connection: NATSConnection
    let postgres: PostgresServer
    let database: String
    let conninfo: String
    let maxDeliver: Int
    let ackWait: Duration
    static let prefix = "test"

    init(postgres: PostgresServer, maxDeliver: Int = 5, ackWait: Duration = .seconds(30)) throws {
        self.postgres = postgres
        self.maxDeliver = maxDeliver
        self.ackWait = ackWait
        nats = try NATSServer.start()
        connection = try NATSConnection(
            options: NATSConnectionOptions(servers: [nats.url], reconnectWait: .milliseconds(100)))
        _ = try StreamTopology(
            durablePrefix: Self.prefix, maxDeliver: maxDeliver, ackWait: ackWait, maxAckPending: 20_000, replicas: 1
        ).ensure(on: connection)
        database = try postgres.createDatabase()
        conninfo = postgres.conninfo(database: database)
        let setup = try PostgresConnection(conninfo: conninfo)
        try Migrator().migrate(on: setup)
    }

    func stop() {
        connection.close()
        nats.stop()
    }

    // MARK: Publishing

    func publish(_ event: Event, msgID: String? = nil) throws {
        try publishRaw(
            subject: event.subject.rawValue, body: Self.encode(event), msgID: msgID ?? event.eventID.uuidString)
    }

    func publishRaw(subject: String, body: [UInt8], msgID: String? = nil, headers extra: NATSHeaders = NATSHeaders())
        throws
    {
        var headers = extra
        if let msgID { headers.set("Nats-Msg-Id", msgID) }
        try connection.publish(subject: subject, headers: headers, body: body)
    }

    func publishAll(_ events: [Event]) throws {
        _ = try connection.publishPipelined(
            events.map {
                NATSConnection.OutgoingMessage(
                    subject: $0.subject.rawValue, headers: ["Nats-Msg-Id": $0.eventID.uuidString], body: Self.encode($0)
                )
            })
    }

    static func encode(_ event: Event) -> [UInt8] {
        Array(try! JSONEncoder().encode(event))
    }

    // MARK: Workers

    /// Starts `perConsumer` workers on each consumer, each with `lanes` apply lanes (the daemon's
    /// default); `stop` on the result stops and joins them.
    func startWorkers(
        perConsumer: Int = 1, lanes: Int = 2, batchSize: Int = 256, maxWait: Duration = .milliseconds(100),
        baseDelay: Duration = .milliseconds(100), policies: PolicyRegistry = .defaults,
        earlyRewardWait: Duration = .seconds(2), signalsHeld: @escaping @Sendable () -> Bool = { false },
        lockTimeout: Duration? = nil
    ) throws -> RunningWorkers {
        let running = RunningWorkers()
        let sweeper = ParkedRewardSweeper.Configuration(
            databaseURL: conninfo, policies: policies, earlyRewardWait: earlyRewardWait, interval: .milliseconds(200))
        running.startJob { [connection] stop in
            ParkedRewardSweeper(
                configuration: sweeper, nats: connection, observer: running.observer, signalsHeld: signalsHeld,
                logger: Self.logger
            ).run(stop: stop)
        }
        let decoder = EventDecoder(policies: policies)
        for role in ConsumerRole.allCases {
            for index in 0..<perConsumer {
                let configuration = ConsumerWorker.Configuration(
                    role: role, stream: role.stream, consumer: "\(Self.prefix)-\(role.rawValue)", workerIndex: index,
                    batchSize: batchSize, lanes: lanes, maxWait: maxWait, ackWait: ackWait, databaseURL: conninfo,
                    settlement: SettlementPolicy(maxDeliver: maxDeliver, baseDelay: baseDelay, maxDelay: .seconds(2)),
                    lockTimeout: lockTimeout)
                running.start { [connection] in
                    try ConsumerWorker(
                        configuration: configuration, nats: connection, decoder: decoder, observer: running.observer,
                        logger: Self.logger)
                }
            }
        }
        return running
    }

    /// Silent, unless BANDITD_TEST_LOG is set (then the workers log to stderr).
    static var logger: Logger {
        if ProcessInfo.processInfo.environment["BANDITD_TEST_LOG"] != nil {
            var logger = Logger(label: "worker") { StreamLogHandler.standardError(label: $0) }
            logger.logLevel = .debug
            return logger
        }
        return Logger(label: "worker") { _ in SwiftLogNoOpLogHandler() }
    }

    // MARK: Reading the outcome

    func query(_ sql: SQL, _ binds: [String?] = []) throws -> [PostgresRow] {
        try PostgresConnection(conninfo: conninfo).query(sql, binds).rows
    }

    func count(_ table: String) throws -> Int {
        try PostgresConnection(conninfo: conninfo).query(SQL(unsafeRaw: "SELECT count(*) FROM \(table)")).rows[0].int(0)
    }

    /// Every message on the DEADLETTER stream (read with a consumer of its own, acked).
    func deadLetters(expecting count: Int, timeout: Duration = .seconds(30)) throws -> [JetStreamMessage] {
        let name = "reader"
        _ = try connection.createOrUpdateConsumer(
            stream: StreamTopology.deadLetterStream, ConsumerConfiguration(durableName: name, ackWait: .seconds(60)))
        let consumer = try PullConsumer(connection: connection, stream: StreamTopology.deadLetterStream, consumer: name)
        defer { consumer.close() }
        var letters: [JetStreamMessage] = []
        let deadline = ContinuousClock.now + timeout
        while letters.count < count && ContinuousClock.now < deadline {
            letters += try consumer.fetch(maxMessages: 100, maxWait: .milliseconds(200))
        }
        // Anything beyond `count` that is already there shows up too.
        letters += try consumer.fetch(maxMessages: 100, maxWait: .milliseconds(300))
        return letters
    }

    func consumerInfo(_ role: String) throws -> ConsumerInfo {
        try connection.consumerInfo(
            stream: role == "signals" ? "SIGNALS" : "FEEDBACK", consumer: "\(Self.prefix)-\(role)")
    }

    /// Waits until both consumers have nothing pending and nothing unacknowledged.
    func waitUntilDrained(timeout: Duration = .seconds(60)) throws {
        try waitUntil(timeout: timeout, poll: .milliseconds(50)) {
            try ["signals", "feedback"].allSatisfy { role in
                let info = try consumerInfo(role)
                return info.pending == 0 && info.ackPending == 0
            }
        }
    }
}

/// Worker threads and what they reported.
final class RunningWorkers: Sendable {
    let observer = CountingObserver()
    private let stopSignal = StopSignal()
    private let group = DispatchGroup()
    private let failures = Mutex<[String]>([])

    /// Builds the worker on its own thread (a worker belongs to the thread that runs it) and runs it.
    func start(_ makeWorker: @escaping @Sendable () throws -> ConsumerWorker) {
        group.enter()
        let thread = Thread { [self] in
            defer { group.leave() }
            do {
                try makeWorker().run(stop: stopSignal)
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        thread.start()
    }

    /// Runs a background job (e.g. the parked-reward sweeper) on its own thread until stop.
    func startJob(_ body: @escaping @Sendable (StopSignal) -> Void) {
        group.enter()
        let thread = Thread { [self] in
            defer { group.leave() }
            body(stopSignal)
        }
        thread.start()
    }

    /// Requests stop and joins every worker; returns errors the workers ended with.
    @discardableResult
    func stop() -> [String] {
        stopSignal.request()
        group.wait()
        return failures.withLock { $0 }
    }
}

final class CountingObserver: WorkerObserver {
    struct Counts: Sendable {
        var fetched = 0
        var redelivered = 0
        var acked = 0
        var naked = 0
        var parked = 0
        var deadLettered: [RejectionReason] = []
        var setAside = 0
        var databaseDown = 0
        var databaseBack = 0
        /// Hold reasons reported, in order (nil: the hold ended).
        var holds: [HoldReason?] = []
        var deadLettersWaiting = 0
        var beats: [String: Int] = [:]
        var closedByDefault = 0
        var lateCorrected = 0
    }

    let counts = Mutex(Counts())

    func loopBeat(_ loop: String) {
        counts.withLock { $0.beats[loop, default: 0] += 1 }
    }
    func loopEnded(_ loop: String) {}
    func fetched(role: ConsumerRole, count: Int, redelivered: Int) {
        counts.withLock {
            $0.fetched += count
            $0.redelivered += redelivered
        }
    }
    func settled(role: ConsumerRole, loop: String, outcome: SettledBatch) {
        counts.withLock {
            $0.acked += outcome.acked
            $0.naked += outcome.naked
            $0.parked += outcome.parked
            $0.deadLettered += outcome.deadLettered
            $0.setAside += outcome.setAside
        }
    }
    func holding(role: ConsumerRole, loop: String, since: Date?, reason: HoldReason?) {
        counts.withLock { $0.holds.append(reason) }
    }
    func deadLettersWaiting(role: ConsumerRole, loop: String, count: Int, failure: String?) {
        counts.withLock { $0.deadLettersWaiting = count }
    }
    func rewardLoop(closedByDefault: Int, lateCorrected: Int) {
        counts.withLock {
            $0.closedByDefault += closedByDefault
            $0.lateCorrected += lateCorrected
        }
    }
    func database(connected: Bool, reconnected: Bool) {
        counts.withLock {
            if connected { $0.databaseBack += 1 } else { $0.databaseDown += 1 }
        }
    }
}

extension PipelineHarness {
    /// Runs `count` reward-window closers (as `count` daemons would) until `workers` stop.
    func startClosers(_ count: Int = 1, policies: PolicyRegistry, in workers: RunningWorkers) {
        let configuration = RewardWindowCloser.Configuration(
            databaseURL: conninfo, policies: policies, interval: .milliseconds(200), slice: 3)
        for _ in 0..<count {
            workers.startJob { stop in
                RewardWindowCloser(configuration: configuration, observer: workers.observer, logger: Self.logger)
                    .run(stop: stop)
            }
        }
    }

    /// Runs the max-deliveries recovery job (as every daemon does) until `workers` stop.
    func startRecovery(in workers: RunningWorkers) {
        let configuration = MaxDeliveriesRecovery.Configuration(
            stream: StreamTopology.maxDeliveriesStream(durablePrefix: Self.prefix),
            consumer: "\(Self.prefix)-max-deliveries", databaseURL: conninfo)
        workers.startJob { [connection] stop in
            MaxDeliveriesRecovery(
                configuration: configuration, nats: connection, decoder: EventDecoder(policies: .defaults),
                observer: workers.observer, logger: Self.logger
            ).run(stop: stop)
        }
    }

    /// Takes every delivery of the consumer of `role` without settling it, `times` times (each
    /// after its ack wait ran out): what a daemon killed again and again before it could settle
    /// does to a message.
    func exhaustDeliveries(_ role: String, times: Int) throws {
        let consumer = try PullConsumer(
            connection: connection, stream: role == "signals" ? "SIGNALS" : "FEEDBACK",
            consumer: "\(Self.prefix)-\(role)")
        defer { consumer.close() }
        for _ in 0..<times {
            var taken = 0
            let deadline = ContinuousClock.now + ackWait * 3
            while taken == 0 && ContinuousClock.now < deadline {
                taken = try consumer.fetch(maxMessages: 100, maxWait: .milliseconds(200)).count
            }
            let (wait, atto) = (ackWait + .milliseconds(300)).components
            Thread.sleep(forTimeInterval: Double(wait) + Double(atto) / 1e18)
        }
    }
}
