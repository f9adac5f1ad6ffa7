// The app: one Services object for the process (the SDK client, the model, the call
// coordinator, CallKit and PushKit), and the SwiftUI screens.
import SwiftUI

@main
struct DialtoneSampleApp: App {
    @StateObject private var services = Services()

    var body: some Scene {
        WindowGroup {
            ContentView()
                .environmentObject(services)
        }
    }
}
