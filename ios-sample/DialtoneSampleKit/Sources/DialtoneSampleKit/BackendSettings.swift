// Which backend the sample talks to, chosen on its settings screen: the real one (AWS +
// Bandwidth) or the bundled mock (from the simulator, the Mac's own 127.0.0.1).
import Foundation
import Dialtone

public enum BackendSettings: Codable, Equatable, Sendable {
    case mock(baseURL: String, apiKey: String? = nil)
    case real(restURL: String, graphqlURL: String, graphqlAPIKey: String,
              signalingURL: String = "wss://device.webrtc.bandwidth.com/v3/", eventsURL: String? = nil)

    /// The simulator shares the Mac's network: the mock on the Mac is at loopback.
    public static let simulatorMock = BackendSettings.mock(baseURL: "http://127.0.0.1:8080")

    /// The SDK configuration; a bad URL throws `DialtoneError.InvalidInput`.
    public func config() throws -> BackendConfig {
        switch self {
        case let .mock(url, key):
            return try BackendConfig.mock(baseUrl: url, apiKey: key)
        case let .real(rest, graphql, key, signaling, events):
            return try BackendConfig.aws(restUrl: rest, graphqlUrl: graphql, graphqlApiKey: key,
                                         signalingUrl: signaling, eventsUrl: events)
        }
    }
}
