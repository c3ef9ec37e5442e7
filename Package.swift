// swift-tools-version:6.1
// Workbench (`wb`): a terminal-native data-science studio.
// The target graph follows Docs/architecture.md; ../shared/checks/architecture checks it.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// A C library from Debian, reached through a module map under Sources/System.
func system(_ name: String, pkgConfig: String?, apt: String) -> Target {
    .systemLibrary(
        name: name,
        path: "Sources/System/\(name)",
        pkgConfig: pkgConfig,
        providers: [.apt([apt])]
    )
}

let package = Package(
    name: "Workbench",
    platforms: [.macOS(.v15)],
    products: [
        // `wb` is a small launcher that execs wb-app or wb-git (both next to it) before loading anything.
        .executable(name: "wb", targets: ["wb"]),
        .executable(name: "wb-app", targets: ["wb-app"]),
        .executable(name: "wb-git", targets: ["wb-git"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // System libraries (C module maps).
        // libzmq's and ncursesw's pkg-config flags are ones SwiftPM refuses; their headers are in /usr/include.
        system("CZMQ", pkgConfig: nil, apt: "libzmq3-dev"),
        system("CNCursesW", pkgConfig: nil, apt: "libncursesw5-dev"),
        system("CSQLite3", pkgConfig: "sqlite3", apt: "libsqlite3-dev"),
        system("CGit2", pkgConfig: "libgit2", apt: "libgit2-dev"),
        system("CCurl", pkgConfig: "libcurl", apt: "libcurl4-openssl-dev"),
        // libpng decodes image outputs for sixel terminals (kitty takes the PNG as it is).
        system("CPNG", pkgConfig: nil, apt: "libpng-dev"),
        // libyaml reads and writes YAML (Jupytext headers, parameters, policy and lifecycle files).
        system("CYAML", pkgConfig: "yaml-0.1", apt: "libyaml-dev"),

        // Declarations glibc hides behind _GNU_SOURCE.
        .target(name: "CPosix", path: "Sources/System/CPosix"),
        // One 64-bit word in a MAP_SHARED file, changed with C11 atomics (Storage's ChangeSignal).
        .target(name: "CSharedWord", path: "Sources/System/CSharedWord"),
        // libgit2's CA bundle loaded on demand rather than at start-up (see its header).
        .target(name: "CGitTLS", path: "Sources/System/CGitTLS"),

        // Core: shared by everyone, imports no project module.
        .target(name: "CoreSupport", dependencies: ["CPosix"], path: "Sources/Core/Support", swiftSettings: swiftSettings),
        .target(name: "YAML", dependencies: ["CoreSupport", "CYAML"], path: "Sources/Core/YAML", swiftSettings: swiftSettings),
        .target(
            name: "Notebook", dependencies: ["CoreSupport", "YAML"], path: "Sources/Core/Notebook",
            swiftSettings: swiftSettings),
        .target(
            name: "Storage",
            dependencies: ["CoreSupport", "CSQLite3", "CSharedWord", .product(name: "Crypto", package: "swift-crypto")],
            path: "Sources/Core/Storage",
            swiftSettings: swiftSettings),
        .target(
            name: "Git", dependencies: ["CoreSupport", "Notebook", "CGit2", "CGitTLS", .product(name: "Crypto", package: "swift-crypto")], path: "Sources/Core/Git",
            swiftSettings: swiftSettings),

        .target(
            name: "Catalog", dependencies: ["CoreSupport", "Storage"], path: "Sources/Core/Catalog",
            swiftSettings: swiftSettings),

        // Kernels: the Jupyter wire protocol, kernelspecs, kernel manager, headless runner.
        .target(
            name: "Kernels",
            dependencies: [
                "CoreSupport", "Notebook", "CZMQ",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/Kernels", swiftSettings: swiftSettings),

        .target(
            name: "Lifecycle", dependencies: ["CoreSupport", "Storage", "Notebook", "Kernels", "YAML"], path: "Sources/Lifecycle",
            swiftSettings: swiftSettings),
        .target(
            name: "Governance",
            dependencies: [
                "CoreSupport", "Storage", "Catalog", "YAML",
                .product(name: "Crypto", package: "swift-crypto"),
            ], path: "Sources/Governance",
            swiftSettings: swiftSettings),

        // Plugins: one bus, one folder per plugin; plugins never import each other.
        .target(
            name: "PluginBus", dependencies: ["CoreSupport", "Governance"], path: "Sources/Plugins/Bus",
            swiftSettings: swiftSettings),
        .target(
            name: "Lakehouse",
            dependencies: ["PluginBus", "Storage", "Catalog", "CoreSupport", "Governance", "Kernels", .product(name: "Crypto", package: "swift-crypto")],
            path: "Sources/Plugins/Lakehouse",
            swiftSettings: swiftSettings),
        .target(
            name: "Experiments", dependencies: ["PluginBus", "Storage"], path: "Sources/Plugins/Experiments",
            swiftSettings: swiftSettings),

        // Workbench: the terminal UI library, the `wb` launcher and the executables it runs (wiring only).
        .target(
            name: "TUI", dependencies: ["CoreSupport", "Notebook", "Kernels", "CNCursesW", "CPNG"], path: "Sources/Workbench/TUI",
            swiftSettings: swiftSettings),
        // `wb`: picks wb-git for `wb git`/`wb nbdiff`, else wb-app, so `wb git status` starts without
        // loading ZeroMQ, SQLite and ncurses, and every other command without libgit2.
        .executableTarget(name: "wb", path: "Sources/Workbench/Launcher"),
        // Everything but git: the notebook, kernels, lakehouse, governance, sessions.
        .executableTarget(
            name: "wb-app",
            dependencies: [
                "CoreSupport", "Notebook", "Kernels", "Storage", "Catalog", "Lifecycle", "Governance",
                "PluginBus", "Lakehouse", "Experiments", "TUI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "YAML",
            ],
            path: "Sources/Workbench/App", swiftSettings: swiftSettings),
        // The git commands in their own executable, so that only `wb git` and `wb nbdiff` load libgit2;
        // `wb` execs it (it sits next to wb, as wb-app does).
        .executableTarget(
            name: "wb-git",
            dependencies: ["CoreSupport", "Notebook", "Git", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Workbench/GitApp", swiftSettings: swiftSettings),

        // Helpers for the test targets only (Python cross-checks, commands, polling); never in wb.
        .target(name: "TestSupport", path: "Sources/Core/TestSupport", swiftSettings: swiftSettings),

        // Tests: one target per module, plus the CLI end to end.
        .testTarget(name: "CoreSupportTests", dependencies: ["CoreSupport", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "YAMLTests", dependencies: ["YAML", "CoreSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "CoreSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "NotebookTests", dependencies: ["Notebook", "CoreSupport", "TestSupport"], exclude: ["Fixtures"],
            swiftSettings: swiftSettings),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "Notebook", "CoreSupport", "CZMQ", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SystemTests", dependencies: ["CZMQ", "CNCursesW", "CSQLite3", "CGit2", "CCurl", "CPNG"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "GovernanceTests",
            dependencies: ["Governance", "Catalog", "CoreSupport", "Storage", "TestSupport", "YAML", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(name: "PluginBusTests", dependencies: ["PluginBus", "Governance", "CoreSupport", "Storage", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog", "Storage", "CoreSupport", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "LakehouseTests",
            dependencies: [
                "Lakehouse", "Catalog", "Storage", "PluginBus", "Governance", "CoreSupport", "Kernels", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            // Git only to make wb-git's output (status JSON, DiffText) for the git panel's snapshots.
            name: "TUITests", dependencies: ["TUI", "Notebook", "Kernels", "CoreSupport", "TestSupport", "Git"], exclude: ["Fixtures"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "LifecycleTests", dependencies: ["Lifecycle", "Kernels", "Storage", "CoreSupport", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(name: "GitTests", dependencies: ["Git", "Notebook", "CoreSupport", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "WorkbenchTests", dependencies: ["CoreSupport", "Notebook", "TestSupport", "Lifecycle", "Storage", "Kernels"], swiftSettings: swiftSettings),
    ]
)
