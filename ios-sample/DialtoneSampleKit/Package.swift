// swift-tools-version:5.9
// The iOS sample's logic as a plain Swift package: the call coordinator (PushKit → SDK →
// CallKit, CallKit actions → SDK), the audio bridge between Float32 buffers and the SDK's
// PCM, the app model and the backend settings. No UIKit, CallKit, PushKit or AVFoundation
// here: the app adapts those to the protocols below, and this package is tested on Linux.
import PackageDescription

let package = Package(
    name: "DialtoneSampleKit",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "DialtoneSampleKit", targets: ["DialtoneSampleKit"]),
    ],
    dependencies: [
        .package(name: "Dialtone", path: "../../bindings/swift"),
    ],
    targets: [
        .target(name: "DialtoneSampleKit", dependencies: [.product(name: "Dialtone", package: "Dialtone")]),
        .testTarget(name: "DialtoneSampleKitTests", dependencies: ["DialtoneSampleKit"]),
    ]
)
