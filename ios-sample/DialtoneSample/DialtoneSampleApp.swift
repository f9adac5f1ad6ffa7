// The app: one Services object for the process (the SDK client, the model, the call
// coordinator, CallKit and PushKit), made by the app delegate at launch, and the SwiftUI
// screens. Not a SwiftUI @StateObject: a VoIP push can launch the app in the background
// with no scene at all, and PushKit's registry must exist by the end of
// application(_:didFinishLaunchingWithOptions:) for the push to be delivered
// (developer.apple.com/documentation/pushkit/responding-to-voip-notifications-from-pushkit).
import SwiftUI
import UIKit

@MainActor
final class AppDelegate: NSObject, UIApplicationDelegate {
    private(set) lazy var services = Services()

    func application(_ application: UIApplication,
                     didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]? = nil) -> Bool {
        _ = services // creates the client, the coordinator, CallKit and the PKPushRegistry now
        return true
    }
}

@main
struct DialtoneSampleApp: App {
    @UIApplicationDelegateAdaptor(AppDelegate.self) private var delegate

    var body: some Scene {
        WindowGroup {
            ContentView()
                .environmentObject(delegate.services)
        }
    }
}
