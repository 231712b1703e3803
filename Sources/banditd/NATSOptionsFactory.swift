import BanditConfig
import NATSKit

/// The cnats connection options of the configured `nats` section: servers, credentials, TLS.
enum NATSOptionsFactory {
    static func make(_ nats: BanditdConfiguration.NATS) -> NATSConnectionOptions {
        var tls: NATSConnectionOptions.TLS?
        let usesTLS = nats.servers.contains { $0.hasPrefix("tls://") }
        if usesTLS || nats.tlsCAFile != nil || nats.tlsCertificateFile != nil {
            tls = NATSConnectionOptions.TLS(
                caFile: nats.tlsCAFile, certificateFile: nats.tlsCertificateFile, keyFile: nats.tlsKeyFile)
        }
        return NATSConnectionOptions(
            servers: nats.servers, user: nats.user, password: nats.password, token: nats.token,
            credentialsFile: nats.credentialsFile, tls: tls, connectTimeout: nats.connectTimeout)
    }
}
