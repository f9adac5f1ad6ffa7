// One dialtone-mock process per profile for the whole test run, each started on first use
// on a free loopback port and terminated when the test process exits. `seed` is exactly the
// real backend; `extended` adds client secrets, call ids and the /ws event channel.
import Foundation
@testable import Dialtone

nonisolated(unsafe) private var mockProcesses: [Process] = []

enum SharedMock {
    /// The seed profile: pushes carry the callee's token, decline is endCall.
    static let baseURL: String = start(profile: "seed")
    /// The extended profile (the mock's default).
    static let extendedURL: String = start(profile: "extended")

    private static func start(profile: String) -> String {
        guard let bin = ProcessInfo.processInfo.environment["DIALTONE_MOCK_BIN"] else {
            fatalError("DIALTONE_MOCK_BIN is not set")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = ["--listen", "127.0.0.1:0", "--profile", profile, "--exit-on-stdin-eof"]
        // Our end of this pipe closes when the test process exits, whatever the reason.
        process.standardInput = Pipe()
        let pipe = Pipe()
        process.standardOutput = pipe
        try! process.run()
        var line = Data()
        while true {
            let byte = pipe.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        let first = String(decoding: line, as: UTF8.self)
        let prefix = "dialtone-mock listening on "
        precondition(first.hasPrefix(prefix), "unexpected first line: \(first)")
        if mockProcesses.isEmpty {
            atexit { mockProcesses.forEach { $0.terminate() } }
        }
        mockProcesses.append(process)
        initLogging(level: .warn, sink: nil)
        return String(first.dropFirst(prefix.count))
    }
}
