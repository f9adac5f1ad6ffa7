// One dialtone-mock process per profile for the whole test run, each started on first use
// on a free loopback port through DialtoneTesting's DialtoneMock (the library app developers
// use), so the project's own suites exercise it; terminated when the test process exits.
// `seed` is exactly the real backend; `extended` adds client secrets, call ids and /ws.
import Foundation
@testable import Dialtone
import DialtoneTesting

enum SharedMock {
    static let seed: DialtoneMock = start(.seed)
    static let extended: DialtoneMock = start(.extended)
    /// The seed profile: pushes carry the callee's token, decline is endCall.
    static var baseURL: String { seed.baseURL }
    /// The extended profile (the mock's default).
    static var extendedURL: String { extended.baseURL }

    private static func start(_ profile: MockProfile) -> DialtoneMock {
        initLogging(level: .warn, sink: nil)
        do {
            return try DialtoneMock.start(profile: profile)
        } catch {
            fatalError("the mock did not start: \(error)")
        }
    }
}
