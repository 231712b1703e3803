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
var results = BenchResults(machine: MachineInfo.current())

do {
    let postgres = try PostgresServer.start()
    defer { postgres.stop() }
    let bench = Bench(postgres: postgres, options: options)

    if bench.wants("decode") { results.decode = bench.decodeSpeed() }
    if bench.wants("raw-pull") { results.rawPullAck = try bench.rawPullAck() }
    if bench.wants("raw-copy") { results.rawCopy = try bench.rawCopy() }
    if bench.wants("drain-inline") {
        results.drainMixed = try bench.drain(
            name: "drain, mixed, inline rewards", mix: .inline, events: options.events, batchSize: 256)
    }
    if bench.wants("drain-joined") {
        results.drainJoined = try bench.drain(
            name: "drain, mixed, rewards join decisions", mix: .joined, events: options.events, batchSize: 256)
    }
    if bench.wants("drain-batch-one") {
        results.drainBatchOne = try bench.drain(
            name: "drain, batch size 1 (naive per message)", mix: .inline, events: options.batchOneEvents, batchSize: 1)
    }
    for daemons in 1...3 where bench.wants("scale-out-\(daemons)") {
        results.scaleOut.append(
            try bench.drain(
                name: "scale-out on one machine", mix: .inline, events: options.events,
                batchSize: 256, daemons: daemons))
    }
    if bench.wants("cluster-single") {
        results.clusterComparison.append(
            try bench.drain(
                name: "one nats-server, R1 streams", mix: .inline, events: options.events, batchSize: 256))
    }
    if bench.wants("cluster-r3") {
        results.clusterComparison.append(
            try bench.drain(
                name: "3-node NATS cluster, R3 streams", mix: .inline, events: options.events, batchSize: 256,
                cluster: true))
    }
    if bench.wants("steady") { results.steady = try bench.steady(rate: options.rate, seconds: options.steadySeconds) }
} catch {
    FileHandle.standardError.write(Data("bench failed: \(error)\n".utf8))
    exit(1)
}

results.write(to: options.output)
print(results.table())
print("results: \(options.output)")
