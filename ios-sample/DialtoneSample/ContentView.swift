// The screens: sign-in, the live Person list with a call button each, the in-call screen
// (CallKit shows the system UI too), and Settings for the backend.
import AVFoundation
import SwiftUI
import Dialtone
import DialtoneSampleKit

struct ContentView: View {
    @EnvironmentObject var services: Services
    @State private var showSettings = false

    var body: some View {
        NavigationStack {
            VStack(spacing: 16) {
                if let error = services.error {
                    Text(error).foregroundStyle(.red)
                }
                switch services.call {
                case .dialing(let person, let ringing):
                    CallView(title: "\(person.firstName) \(person.lastName)", subtitle: ringing ? "Ringing…" : "Calling…")
                case .active(let peer, let muted):
                    CallView(title: peer, subtitle: muted ? "Muted" : "In call", showsRoutes: true)
                case .ringing(let invite):
                    CallView(title: invite.callerName ?? invite.handle, subtitle: "Incoming call")
                default:
                    switch services.screen {
                    case .signIn: SignInView()
                    case .people(let me, let others): PeopleView(me: me, others: others)
                    }
                }
            }
            .padding()
            .toolbar { Button("Settings") { showSettings = true } }
            .sheet(isPresented: $showSettings) { SettingsView(current: services.settings) }
        }
    }
}

struct SignInView: View {
    @EnvironmentObject var services: Services
    @State private var first = ""
    @State private var last = ""
    @State private var busy = false

    var body: some View {
        Form {
            TextField("First name", text: $first)
            TextField("Last name", text: $last)
            Button("Sign in") {
                busy = true
                Task { await services.signIn(first: first, last: last); busy = false }
            }.disabled(busy)
        }
    }
}

struct PeopleView: View {
    @EnvironmentObject var services: Services
    let me: Person?
    let others: [Person]

    var body: some View {
        List {
            Section("Me") { Text("\(me?.firstName ?? "") \(me?.lastName ?? "")") }
            Section("People") {
                if others.isEmpty { Text("Nobody else has signed in yet.") }
                ForEach(others, id: \.id) { person in
                    HStack {
                        Text("\(person.firstName) \(person.lastName)")
                        Spacer()
                        Button("Call") { services.call(person) }
                    }
                }
            }
        }
    }
}

struct CallView: View {
    @EnvironmentObject var services: Services
    let title: String
    let subtitle: String
    var showsRoutes = false
    /// Re-read when the session's route changes (headphones, Bluetooth, the speaker).
    @State private var routes: [AudioRoute] = []
    @State private var current: AudioRoute.Kind = .receiver

    var body: some View {
        VStack(spacing: 24) {
            Text(title).font(.largeTitle)
            Text(subtitle).foregroundStyle(.secondary)
            if showsRoutes {
                // The route menu: earpiece, speaker, and every headset or Bluetooth input.
                HStack {
                    ForEach(routes) { route in
                        Button(route.name) {
                            try? services.audio.select(route)
                            refreshRoutes()
                        }
                        .buttonStyle(.bordered)
                        .disabled(route.kind == current)
                    }
                }
            }
            Button("Hang up", role: .destructive) { services.hangUp() }
                .buttonStyle(.borderedProminent)
        }
        .onAppear(perform: refreshRoutes)
        .onReceive(NotificationCenter.default.publisher(for: AVAudioSession.routeChangeNotification)) { _ in
            refreshRoutes()
        }
    }

    private func refreshRoutes() {
        routes = services.audio.routes
        current = services.audio.currentRoute
    }
}

struct SettingsView: View {
    @EnvironmentObject var services: Services
    @Environment(\.dismiss) private var dismiss
    @State private var useMock: Bool
    @State private var mockURL: String
    @State private var rest = ""
    @State private var graphql = ""
    @State private var key = ""
    @State private var problem: String?

    init(current: BackendSettings) {
        switch current {
        case .mock(let url, _):
            _useMock = State(initialValue: true)
            _mockURL = State(initialValue: url)
        case .real(let r, let g, let k, _, _):
            _useMock = State(initialValue: false)
            _mockURL = State(initialValue: "http://127.0.0.1:8080")
            _rest = State(initialValue: r)
            _graphql = State(initialValue: g)
            _key = State(initialValue: k)
        }
    }

    var body: some View {
        Form {
            Picker("Backend", selection: $useMock) {
                Text("Mock server").tag(true)
                Text("Real backend").tag(false)
            }
            if useMock {
                TextField("Mock URL", text: $mockURL).textInputAutocapitalization(.never)
            } else {
                TextField("REST URL (…/api)", text: $rest).textInputAutocapitalization(.never)
                TextField("AppSync GraphQL URL", text: $graphql).textInputAutocapitalization(.never)
                SecureField("AppSync API key", text: $key)
            }
            if let problem { Text(problem).foregroundStyle(.red) }
            Button("Save") {
                let chosen: BackendSettings = useMock
                    ? .mock(baseURL: mockURL.trimmingCharacters(in: .whitespaces))
                    : .real(restURL: rest, graphqlURL: graphql, graphqlAPIKey: key)
                do {
                    _ = try chosen.config() // a bad URL is a message here, not a crash later
                    services.save(chosen)
                    dismiss()
                } catch {
                    problem = "\(error)"
                }
            }
        }
    }
}
