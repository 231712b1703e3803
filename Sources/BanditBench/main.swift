// `make bench`: measures banditd against real servers on this machine and writes a JSON file.
// See README "Benchmarks". Not a test: numbers are reported, never asserted.
import BanditCore
import Foundation
import NATSKit
import PostgresKit
import TestServers

#if canImport(Glibc)
    import Glibc
#endif

let options = BenchOptions(CommandLine.arguments.dropFirst())
// PostgreSQL as a production server runs it: every commit fsynced (synchronous_commit = on),
// plus commit timestamps for the latency runs and pg_stat_statements for the profile.
let postgresSettings = PostgresServer.durableSettings.merging([
    "track_commit_timestamp": "on", "shared_preload_libraries": "pg_stat_statements",
]) { $1 }.merging(options.postgresSettings) { $1 }
var results = BenchResults(machine: MachineInfo.current(postgresSettings: postgresSettings))

do {
    let postgres = try PostgresServer.start(settings: postgresSettings)
    defer { postgres.stop() }
    let bench = Bench(postgres: postgres, options: options)

    if bench.wants("decode") { results.decode = bench.decodeSpeed() }
    if bench.wants("raw-pull") { results.rawPullAck = try bench.rawPullAck() }
    if bench.wants("raw-copy") { results.rawCopy = try bench.rawCopy() }
    if bench.wants("drain-headline") {
        results.drainHeadline = try bench.drain(
            name: "drain, headline mix", mix: .headline, events: options.events, batchSize: options.batchSize,
            profile: true)
    }
    if bench.wants("drain-closing") {
        results.drainClosing = try bench.drain(
            name: "drain, headline mix, half the decisions past their reward window", mix: .headlineHalfClosing,
            events: options.events, batchSize: options.batchSize)
    }
    if bench.wants("drain-join") {
        results.drainJoin = try bench.drain(
            name: "drain, join mix", mix: .join, events: options.events, batchSize: options.batchSize, profile: true)
    }
    if bench.wants("drain-batch-one") {
        results.drainBatchOne = try bench.drain(
            name: "drain, batch size 1 (naive per message)", mix: .headline, events: options.batchOneEvents,
            batchSize: 1)
    }
    for rate in options.rates where bench.wants("steady-\(rate)") {
        results.steady.append(try bench.steady(rate: rate, seconds: options.steadySeconds))
    }
    for daemons in 1...3 where bench.wants("scale-out-\(daemons)") {
        results.scaleOut.append(
            try bench.drain(
                name: "scale-out on one machine", mix: .headline, events: options.events,
                batchSize: options.batchSize, daemons: daemons))
    }
    if bench.wants("cluster-single") {
        results.clusterComparison.append(
            try bench.drain(
                name: "one nats-server, R1 streams", mix: .headline, events: options.events,
                batchSize: options.batchSize))
    }
    if bench.wants("cluster-r3") {
        results.clusterComparison.append(
            try bench.drain(
                name: "3-node NATS cluster, R3 streams", mix: .headline, events: options.events,
                batchSize: options.batchSize,
                cluster: true))
    }
    if bench.wants("ledger-growth") { results.ledgerGrowth = try bench.ledgerGrowth() }
    if bench.wants("retention-cost") { results.retentionCost = try bench.retentionCost() }
} catch {
    FileHandle.standardError.write(Data("bench failed: \(error)\n".utf8))
    exit(1)
}

results.write(to: options.output)
print(results.table())
print("results: \(options.output)")
