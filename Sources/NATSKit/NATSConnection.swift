import CNATS
import Foundation
import Synchronization

/// What the connection is doing now, as the cnats callbacks last reported it.
public enum NATSConnectionState: String, Sendable {
    case connected
    /// Lost the server; cnats is reconnecting (forever, with the default options).
    case disconnected
    /// Closed for good: by `close()`, or because reconnect attempts ran out.
    case closed
}

/// A change reported by the C client's callback thread.
public enum NATSConnectionEvent: Sendable, Equatable {
    case disconnected
    case reconnected(url: String?)
    case closed
    /// An asynchronous error (slow consumer, permission violation) the server or client raised.
    case asyncError(String)
}

/// A snapshot of the connection's health, for the health probe and for pull consumers that
/// must re-issue their pulls after a reconnect.
public struct NATSConnectionStatus: Sendable, Equatable {
    public var state: NATSConnectionState
    /// Incremented on every successful reconnect; pulls issued before it are gone server-side.
    public var reconnects: Int
    public var disconnects: Int
    public var lastAsyncError: String?
}

/// One NATS connection (a `natsConnection *`), connected in `init` and reconnecting forever.
///
/// `@unchecked Sendable`: cnats documents every `natsConnection_*` call as thread-safe (the C
/// object has its own mutex); the pointer is set once in `init` and only `close()` retires it,
/// under `lifecycle`'s lock. Subscriptions are *not* shared: see `PullConsumer`.
public final class NATSConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    private let monitor: ConnectionMonitor
    private let lifecycle = Mutex(false)  // closed?
    public let options: NATSConnectionOptions

    /// Connects to one of `options.servers`. Fails at once (with cnats's text, e.g.
    /// "Authorization Violation" or "No server available for connection") rather than retrying
    /// the first connect: a wrong credential must be a clear startup error.
    public init(
        options: NATSConnectionOptions,
        onEvent: (@Sendable (NATSConnectionEvent) -> Void)? = nil
    ) throws(NATSError) {
        self.options = options
        let monitor = ConnectionMonitor(onEvent: onEvent)
        var opts: OpaquePointer?
        try natsCheck(natsOptions_Create(&opts), "create connection options")
        defer { natsOptions_Destroy(opts) }
        try Self.apply(options, to: opts)

        // The monitor must outlive every callback. Setting the callbacks can throw, so they get
        // the pointer unretained (the local `monitor` keeps it alive meanwhile); the retain is taken
        // only right before the connect, the one call that can start callbacks. cnats posts
        // `closed` last (callbacks run in order on its one callback thread), so that retain is
        // released there; if the connect fails no callback ever runs and we release it below.
        let closure = Unmanaged.passUnretained(monitor).toOpaque()
        try natsCheck(natsOptions_SetDisconnectedCB(opts, disconnectedCallback, closure), "set disconnected callback")
        try natsCheck(natsOptions_SetReconnectedCB(opts, reconnectedCallback, closure), "set reconnected callback")
        try natsCheck(natsOptions_SetClosedCB(opts, closedCallback, closure), "set closed callback")
        try natsCheck(natsOptions_SetErrorHandler(opts, errorCallback, closure), "set error handler")

        var connection: OpaquePointer?
        _ = Unmanaged.passRetained(monitor)
        let status = natsConnection_Connect(&connection, opts)
        guard status == NATS_OK, let connection else {
            Unmanaged<ConnectionMonitor>.fromOpaque(closure).release()
            // A server that verifies client certificates just closes the connection: say which
            // certificate (if any) was offered, or the error reads as a bare protocol error.
            let tlsNote = options.tls.map { tls in
                tls.certificateFile.map { " over TLS with client certificate \($0)" }
                    ?? " over TLS without a client certificate"
            }
            throw NATSError(
                library: status,
                operation:
                    "connect to \(options.servers.map(NATSConnectionOptions.redactingURL).joined(separator: ","))"
                    + (tlsNote ?? ""))
        }
        self.handle = connection
        self.monitor = monitor
    }

    deinit {
        close()
        natsConnection_Destroy(handle)
    }

    /// Closes the connection; pending writes are flushed first by cnats. Idempotent.
    public func close() {
        let wasClosed = lifecycle.withLock { closed in
            defer { closed = true }
            return closed
        }
        if !wasClosed { natsConnection_Close(handle) }
    }

    public var status: NATSConnectionStatus { monitor.snapshot }

    public var isConnected: Bool { natsConnection_Status(handle) == NATS_CONN_STATUS_CONNECTED }

    /// The largest message (headers + body) the server accepts, as it announced on connect.
    public var maxPayload: Int { Int(natsConnection_GetMaxPayload(handle)) }

    /// The URL of the server we are connected to now, if any.
    public var connectedURL: String? {
        var buffer = [CChar](repeating: 0, count: 512)
        guard natsConnection_GetConnectedUrl(handle, &buffer, buffer.count) == NATS_OK else { return nil }
        let url = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return url.isEmpty ? nil : NATSConnectionOptions.redactingURL(url)
    }

    /// Waits until the server has processed everything sent so far (a PING/PONG round trip).
    /// After `flush` returns, acks published before it have reached the server.
    public func flush(timeout: Duration = .seconds(5)) throws(NATSError) {
        try natsCheck(natsConnection_FlushTimeout(handle, timeout.natsMilliseconds), "flush")
    }

    /// Runs `body` with the C handle. Internal: only NATSKit touches C pointers.
    func withHandle<R, E: Error>(_ body: (OpaquePointer) throws(E) -> R) throws(E) -> R {
        try body(handle)
    }

    private static func apply(_ options: NATSConnectionOptions, to opts: OpaquePointer?) throws(NATSError) {
        guard !options.servers.isEmpty else {
            throw NATSError(
                operation: "configure connection", origin: .malformedResponse, message: "no server URL given")
        }
        var servers = options.servers.map { strdup($0) }
        defer { servers.forEach { free($0) } }
        let status = servers.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                natsOptions_SetServers(opts, $0, Int32(buffer.count))
            }
        }
        try natsCheck(status, "set servers")
        try natsCheck(natsOptions_SetName(opts, options.name), "set name")
        try natsCheck(natsOptions_SetTimeout(opts, options.connectTimeout.natsMilliseconds), "set connect timeout")
        try natsCheck(natsOptions_SetAllowReconnect(opts, true), "allow reconnect")
        try natsCheck(natsOptions_SetMaxReconnect(opts, Int32(options.maxReconnectAttempts)), "set max reconnect")
        try natsCheck(natsOptions_SetReconnectWait(opts, options.reconnectWait.natsMilliseconds), "set reconnect wait")
        try natsCheck(natsOptions_SetReconnectJitter(opts, 100, 1000), "set reconnect jitter")
        try natsCheck(natsOptions_SetPingInterval(opts, options.pingInterval.natsMilliseconds), "set ping interval")
        // Requests made while disconnected fail at once instead of waiting out their timeout.
        try natsCheck(natsOptions_SetFailRequestsOnDisconnect(opts, true), "fail requests on disconnect")
        if let user = options.user {
            try natsCheck(natsOptions_SetUserInfo(opts, user, options.password), "set user credentials")
        }
        if let token = options.token {
            try natsCheck(natsOptions_SetToken(opts, token), "set token")
        }
        if let creds = options.credentialsFile {
            try natsCheck(natsOptions_SetUserCredentialsFromFiles(opts, creds, nil), "load credentials file \(creds)")
        }
        if let nkey = options.nkey {
            try natsCheck(
                natsOptions_SetNKeyFromSeed(opts, nkey.publicKey, nkey.seedFile), "load nkey seed \(nkey.seedFile)")
        }
        if let tls = options.tls {
            try natsCheck(natsOptions_SetSecure(opts, true), "enable TLS")
            if let ca = tls.caFile {
                try natsCheck(natsOptions_LoadCATrustedCertificates(opts, ca), "load CA file \(ca)")
            }
            if let cert = tls.certificateFile, let key = tls.keyFile {
                try natsCheck(natsOptions_LoadCertificatesChain(opts, cert, key), "load client certificate \(cert)")
            } else if tls.certificateFile != nil || tls.keyFile != nil {
                throw NATSError(
                    operation: "configure TLS", origin: .malformedResponse,
                    message: "a client certificate needs both a certificate file and a key file")
            }
            if let host = tls.expectedHostname {
                try natsCheck(natsOptions_SetExpectedHostname(opts, host), "set expected TLS host name")
            }
        }
    }
}

/// Receives cnats's connection callbacks (on cnats's own thread) and keeps the latest status.
final class ConnectionMonitor: Sendable {
    private let state = Mutex(NATSConnectionStatus(state: .connected, reconnects: 0, disconnects: 0))
    private let onEvent: (@Sendable (NATSConnectionEvent) -> Void)?

    init(onEvent: (@Sendable (NATSConnectionEvent) -> Void)?) {
        self.onEvent = onEvent
    }

    var snapshot: NATSConnectionStatus { state.withLock { $0 } }

    func record(_ event: NATSConnectionEvent) {
        state.withLock { status in
            switch event {
            case .disconnected:
                if status.state != .closed { status.state = .disconnected }
                status.disconnects += 1
            case .reconnected:
                status.state = .connected
                status.reconnects += 1
            case .closed:
                status.state = .closed
            case .asyncError(let text):
                status.lastAsyncError = text
            }
        }
        onEvent?(event)
    }
}

private func monitor(_ closure: UnsafeMutableRawPointer?) -> ConnectionMonitor {
    Unmanaged<ConnectionMonitor>.fromOpaque(closure!).takeUnretainedValue()
}

private let disconnectedCallback: natsConnectionHandler = { _, closure in
    monitor(closure).record(.disconnected)
}

private let reconnectedCallback: natsConnectionHandler = { connection, closure in
    var buffer = [CChar](repeating: 0, count: 512)
    let url: String? =
        natsConnection_GetConnectedUrl(connection, &buffer, buffer.count) == NATS_OK
        ? NATSConnectionOptions.redactingURL(
            String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        : nil
    monitor(closure).record(.reconnected(url: url))
}

private let closedCallback: natsConnectionHandler = { _, closure in
    let box = Unmanaged<ConnectionMonitor>.fromOpaque(closure!)
    box.takeUnretainedValue().record(.closed)
    box.release()  // balances the passRetained in NATSConnection.init: no callback follows `closed`
}

private let errorCallback: natsErrHandler = { _, _, status, closure in
    monitor(closure).record(.asyncError(String(cString: natsStatus_GetText(status))))
}
