// One dialtone-mock process for the whole test run, started on first use on a free
// loopback port and terminated when the test process exits.
import Foundation
@testable import Dialtone

private var mockProcess: Process?

enum SharedMock {
    static let baseURL: String = {
        guard let bin = ProcessInfo.processInfo.environment["DIALTONE_MOCK_BIN"] else {
            fatalError("DIALTONE_MOCK_BIN is not set")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = ["--listen", "127.0.0.1:0", "--exit-on-stdin-eof"]
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
        mockProcess = process
        atexit { mockProcess?.terminate() }
        initLogging(level: .warn, sink: nil)
        return String(first.dropFirst(prefix.count))
    }()
}
