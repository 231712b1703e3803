// swift-tools-version:6.2
import PackageDescription

// Layers point one way: banditd → BanditStore / NATSKit / PostgresKit → C modules.
// BanditCore and BanditMath are the pure core: no I/O, nothing of ours below them.
let package = Package(
    name: "banditd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "banditd", targets: ["banditd"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context", from: "1.0.0"),
    ],
    targets: [
        // C libraries as Debian ships them (libnats-dev 3.4.1, libpq-dev 15).
        .systemLibrary(
            name: "CNATS",
            pkgConfig: "libnats",
            providers: [.apt(["libnats-dev"])]
        ),
        // glibc's mallopt, for the daemon's allocator tuning (no library to link).
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),

        // Pure core.
        .target(name: "BanditCore"),
        .target(name: "BanditMath"),
        // The synthetic world with a planted optimum and the convergence report's math (no I/O).
        .target(name: "BanditSimulation", dependencies: ["BanditCore", "BanditMath"]),

        // Thin owners of the C handles.
        .target(name: "NATSKit", dependencies: ["CNATS"]),
        .target(name: "PostgresKit", dependencies: ["CLibPQ"]),

        // Migrations and SQL of the product.
        .target(name: "BanditStore", dependencies: ["PostgresKit", "BanditCore", "BanditMath"]),

        // The streams and consumers of CONTRACT section 1: create, verify.
        .target(name: "BanditTopology", dependencies: ["BanditCore", "NATSKit"]),

        // fetch → decode → apply → settle.
        .target(
            name: "BanditWorker",
            dependencies: [
                "BanditCore", "BanditStore", "NATSKit", "PostgresKit", .product(name: "Logging", package: "swift-log"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
            ]),

        // Health socket, metrics, sd_notify and watchdog: what operators and systemd see.
        .target(
            name: "BanditOperations",
            dependencies: [
                "BanditCore", "CMalloc",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),

        // Long-running parts as swift-service-lifecycle services: blocking loops on threads of
        // their own, reached by graceful shutdown and cancellation.
        .target(
            name: "BanditLifecycle",
            dependencies: [
                "BanditWorker", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),

        // Configuration file + environment overrides.
        .target(name: "BanditConfig", dependencies: ["BanditCore"]),

        // The executable wires the parts together.
        .executableTarget(
            name: "banditd",
            dependencies: [
                "BanditCore", "BanditMath", "BanditConfig", "BanditStore", "BanditTopology", "BanditWorker",
                "BanditOperations", "BanditSimulation", "BanditLifecycle", "NATSKit", "PostgresKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // libFuzzer driver for decoding + validation (see README, "Fuzzing").
        .executableTarget(name: "BanditCoreFuzz", dependencies: ["BanditCore"]),

        // Starts real nats-server and PostgreSQL processes (tests and benchmarks) …
        .target(name: "TestServers", dependencies: ["NATSKit"], path: "Tests/TestServers"),
        // … and gives each test suite its own (Swift Testing suite traits).
        .target(name: "TestSupport", dependencies: ["TestServers"], path: "Tests/TestSupport"),

        // `make bench`: the daemon against real servers on this machine; numbers, not assertions.
        .executableTarget(
            name: "BanditBench",
            dependencies: ["BanditConfig", "BanditCore", "BanditStore", "NATSKit", "PostgresKit", "TestServers"]),
        // `make chaos`: faults while the daemon drains; exactly-once proven from the database.
        .executableTarget(
            name: "BanditChaos",
            dependencies: ["BanditCore", "BanditMath", "BanditOperations", "NATSKit", "PostgresKit", "TestServers"]),

        .testTarget(name: "BanditCoreTests", dependencies: ["BanditCore"], resources: [.copy("Fixtures")]),
        .testTarget(name: "BanditMathTests", dependencies: ["BanditMath"]),
        .testTarget(name: "BanditSimulationTests", dependencies: ["BanditSimulation", "BanditCore", "BanditMath"]),
        .testTarget(name: "BanditConfigTests", dependencies: ["BanditConfig"]),
        .testTarget(name: "NATSKitTests", dependencies: ["NATSKit", "TestSupport"]),
        .testTarget(
            name: "BanditWorkerTests",
            dependencies: [
                "BanditWorker", "BanditCore", "BanditMath", "BanditStore", "BanditTopology", "NATSKit", "PostgresKit",
                "TestSupport", .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "BanditLifecycleTests",
            dependencies: [
                "BanditLifecycle", "BanditWorker",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "BanditOperationsTests", dependencies: ["BanditOperations", "BanditCore", "TestSupport"]),
        // Runs the built `banditd` binary against real servers.
        .testTarget(
            name: "BanditdTests",
            dependencies: ["BanditCore", "BanditMath", "BanditSimulation", "NATSKit", "PostgresKit", "TestSupport"]),
        .testTarget(name: "BanditTopologyTests", dependencies: ["BanditTopology", "NATSKit", "TestSupport"]),
        .testTarget(name: "PostgresKitTests", dependencies: ["PostgresKit", "TestSupport"]),
        .testTarget(
            name: "BanditStoreTests",
            dependencies: ["BanditCore", "BanditStore", "BanditMath", "PostgresKit", "TestSupport"]),
    ]
)
