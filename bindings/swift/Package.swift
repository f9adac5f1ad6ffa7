// swift-tools-version:5.9
// The Dialtone Swift package. On Apple platforms the C layer comes from
// DialtoneFFI.xcframework (built by build-xcframework.sh); on Linux it is the host
// library, found through the system-library module in Sources/DialtoneFFI.
import PackageDescription

#if os(Linux)
let ffiTarget: Target = .systemLibrary(name: "DialtoneFFI", path: "Sources/DialtoneFFI")
#else
let ffiTarget: Target = .binaryTarget(name: "DialtoneFFI", path: "DialtoneFFI.xcframework")
#endif

let package = Package(
    name: "Dialtone",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Dialtone", targets: ["Dialtone"]),
        // For an app's own XCTest suites: the bundled mock and real calls with tones.
        .library(name: "DialtoneTesting", targets: ["DialtoneTesting"]),
    ],
    targets: [
        ffiTarget,
        // The core keeps its secrets in the Keychain: link Security on Apple platforms (the
        // XCFramework's module map says so too).
        .target(
            name: "Dialtone",
            dependencies: ["DialtoneFFI"],
            path: "Sources/Dialtone",
            linkerSettings: [.linkedFramework("Security", .when(platforms: [.iOS, .macOS]))]
        ),
        .target(name: "DialtoneTesting", dependencies: ["Dialtone"], path: "Sources/DialtoneTesting"),
        .testTarget(name: "DialtoneTests", dependencies: ["Dialtone", "DialtoneTesting"], path: "Tests/DialtoneTests"),
    ]
)
