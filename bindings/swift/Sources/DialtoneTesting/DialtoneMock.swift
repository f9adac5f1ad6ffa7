// The bundled mock backend for an app's own XCTest suites.
//
// On macOS and Linux `DialtoneMock.start()` runs `dialtone-mock` (from the `binary` argument
// or DIALTONE_MOCK_BIN) on a free port of 127.0.0.1 and stops it on `close()` or when the test
// process exits. An iOS simulator cannot spawn processes, but shares the Mac's loopback:
// start the mock on the Mac (a scheme pre-action running
// `dialtone-mock --listen 127.0.0.1:8787`) and give the tests DIALTONE_MOCK_URL;
// `DialtoneMock.fromEnvironment()` attaches to it.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Dialtone

/// Which wire contract the mock speaks: `seed` is exactly the real backend; `extended` adds
/// client secrets, call ids and the event channel (docs/extended-profile.md).
public enum MockProfile: String, Sendable {
    case seed
    case extended
}

/// The mock could not be started or reached, or answered something unexpected.
public struct MockError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// One mock backend. Every stored property is immutable except the process handle, which
/// only `close()` touches, under `lock`; that is what makes the type Sendable.
public final class DialtoneMock: @unchecked Sendable {
    /// `http://127.0.0.1:PORT`: give it to `BackendConfig.mock`.
    public let baseURL: String
    public let profile: MockProfile
    private let lock = NSLock()
    #if os(macOS) || os(Linux)
    private var process: Process?
    #endif

    private init(baseURL: String, profile: MockProfile) {
        self.baseURL = baseURL
        self.profile = profile
    }

    /// A mock someone else runs (an iOS simulator test attaches to the Mac's).
    public static func attach(baseURL: String, profile: MockProfile = .extended) -> DialtoneMock {
        DialtoneMock(baseURL: baseURL, profile: profile)
    }

    /// DIALTONE_MOCK_URL when set (attach), else, on macOS and Linux, a new mock process.
    public static func fromEnvironment(profile: MockProfile = .extended) throws -> DialtoneMock {
        if let url = ProcessInfo.processInfo.environment["DIALTONE_MOCK_URL"] {
            return attach(baseURL: url, profile: profile)
        }
        #if os(macOS) || os(Linux)
        return try start(profile: profile)
        #else
        throw MockError(description: "set DIALTONE_MOCK_URL to a dialtone-mock the host runs (a simulator cannot start one)")
        #endif
    }

    #if os(macOS) || os(Linux)
    /// Starts `dialtone-mock` on a free port of 127.0.0.1 and waits until it listens.
    public static func start(profile: MockProfile = .extended, binary: String? = nil) throws -> DialtoneMock {
        guard let bin = binary ?? ProcessInfo.processInfo.environment["DIALTONE_MOCK_BIN"] else {
            throw MockError(description: "no dialtone-mock: pass binary: or set DIALTONE_MOCK_BIN (cargo build --release -p dialtone-mock)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = ["--listen", "127.0.0.1:0", "--profile", profile.rawValue, "--exit-on-stdin-eof"]
        // Our end of this pipe closes when the test process exits, whatever the reason.
        process.standardInput = Pipe()
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw MockError(description: "cannot run \(bin): \(error)")
        }
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        let first = String(decoding: line, as: UTF8.self)
        let ready = "dialtone-mock listening on "
        guard first.hasPrefix(ready) else {
            process.terminate()
            throw MockError(description: "dialtone-mock did not start (first line: \(first))")
        }
        // Keep draining stdout so the mock never blocks on a full pipe.
        out.fileHandleForReading.readabilityHandler = { handle in _ = handle.availableData }
        let mock = DialtoneMock(baseURL: String(first.dropFirst(ready.count)), profile: profile)
        mock.process = process
        return mock
    }
    #endif

    /// Stops the mock if this object started it (all its state is lost). Idempotent.
    public func close() {
        #if os(macOS) || os(Linux)
        lock.lock()
        let running = process
        process = nil
        lock.unlock()
        if let running {
            running.terminate()
            running.waitUntilExit()
        }
        #endif
    }

    deinit { close() }

    /// The backend configuration of a client that talks to this mock.
    public func backendConfig() throws -> BackendConfig {
        try BackendConfig.mock(baseUrl: baseURL, apiKey: nil)
    }

    /// A new client of this mock, keeping its identity in a fresh temporary directory.
    public func newClient() throws -> DialtoneClient {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("dialtone-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return try DialtoneClient(config: try backendConfig(), dataDir: dir.path)
    }

    /// The next push the backend sent to `deviceToken`, exactly as the device receives it
    /// (the FCM data map or the APNs payload) as JSON, for `handlePush(payload:)`. Waits up
    /// to `waitMs`; nil when none came.
    public func nextPush(deviceToken: String, waitMs: Int = 5_000) async throws -> String? {
        var parts = URLComponents(string: "\(baseURL)/mock/pushes")!
        parts.queryItems = [URLQueryItem(name: "deviceToken", value: deviceToken), URLQueryItem(name: "waitMs", value: String(waitMs))]
        var request = URLRequest(url: parts.url!)
        request.timeoutInterval = Double(waitMs) / 1000 + 5
        // The callback form: swift-corelibs-foundation has it on every Swift 5.9+ toolchain.
        let (data, response): (Data, URLResponse?) = try await withCheckedThrowingContinuation { cont in
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error { cont.resume(throwing: error) } else { cont.resume(returning: (data ?? Data(), response)) }
            }.resume()
        }
        guard (response as? HTTPURLResponse)?.statusCode == 200,
              let body = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let pushes = body["pushes"] as? [[String: Any]]
        else {
            throw MockError(description: "GET /mock/pushes answered \(String(decoding: data, as: UTF8.self))")
        }
        guard let push = pushes.first, let device = push["data"] ?? push["payload"] else { return nil }
        return String(decoding: try JSONSerialization.data(withJSONObject: device), as: UTF8.self)
    }
}
