import BanditLifecycle
import BanditTopology
import BanditWorker
import NATSKit

/// Every 2 s each worker consumer's pending and ack-pending counts, for the lag metrics and the
/// `ConsumerBacklog` the retention job yields to. A server that does not answer leaves the last
/// values in place.
struct ConsumerInfoPoll {
    let nats: NATSConnection
    let consumers: [StreamTopology.WorkerConsumer]
    let observer: DaemonObserver
    /// Where the pending counts also go, for the jobs that yield to a backlog.
    let backlog: ConsumerBacklog

    static let interval: Duration = .seconds(2)

    var service: ThreadService {
        ThreadService(name: "banditd-consumer-info", abandonAfter: .seconds(5)) { stop in run(stop: stop) }
    }

    func run(stop: StopSignal) {
        let metrics = observer.health.metrics
        while !stop.sleep(Self.interval) {
            for consumer in consumers {
                guard
                    let info = try? nats.consumerInfo(
                        stream: consumer.stream, consumer: consumer.configuration.durableName ?? "")
                else { continue }
                metrics.setConsumerPending(consumer.role, pending: info.pending, ackPending: UInt64(info.ackPending))
                backlog.record(consumer.role, pending: info.pending)
            }
        }
    }
}
