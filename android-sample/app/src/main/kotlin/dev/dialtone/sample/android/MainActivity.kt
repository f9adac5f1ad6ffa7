// The sample's screens in Compose: sign-in (first and last name), the live Person list
// with a call button each, the call screen (ringing, dialing, in call with mute and hang
// up), and Settings (the real backend or the mock). Runtime permissions are asked for here,
// each at the moment it is first needed (see Permissions).
package dev.dialtone.sample.android

import android.Manifest
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.RadioButton
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import com.google.firebase.messaging.FirebaseMessaging
import dev.dialtone.Person
import dev.dialtone.sample.BackendSettings
import dev.dialtone.sample.CallUi
import dev.dialtone.sample.Screen
import kotlinx.coroutines.launch
import kotlinx.coroutines.tasks.await

class MainActivity : ComponentActivity() {
    private val app get() = SampleApp.of(this)
    private var afterMicrophone: (() -> Unit)? = null

    private val microphone = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) afterMicrophone?.invoke()
        afterMicrophone = null
    }
    private val notifications = registerForActivityResult(ActivityResultContracts.RequestPermission()) {
        if (Permissions.needsFullScreenAccess(this)) startActivity(Permissions.fullScreenSettings(this))
    }

    /** Runs [action] once the microphone may be used, asking first if needed. */
    private fun withMicrophone(action: () -> Unit) {
        if (Permissions.hasMicrophone(this)) action() else {
            afterMicrophone = action
            microphone.launch(Manifest.permission.RECORD_AUDIO)
        }
    }

    private fun afterSignIn() {
        if (Permissions.needsNotifications(this)) {
            notifications.launch(Manifest.permission.POST_NOTIFICATIONS)
        } else if (Permissions.needsFullScreenAccess(this)) {
            startActivity(Permissions.fullScreenSettings(this))
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContent {
            MaterialTheme {
                Surface(Modifier.fillMaxSize()) { App() }
            }
        }
    }

    @Composable
    private fun App() {
        var showSettings by remember { mutableStateOf(false) }
        val call by app.calls.state.collectAsState()
        val screen by app.model.screen.collectAsState()
        val error by app.model.error.collectAsState()
        Column(Modifier.fillMaxSize().padding(24.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
            error?.let {
                Text(it, color = MaterialTheme.colorScheme.error)
                TextButton(onClick = app.model::dismissError) { Text("OK") }
            }
            when {
                showSettings -> SettingsScreen { showSettings = false }
                call !is CallUi.Idle && call !is CallUi.Ended -> CallScreen(call)
                else -> {
                    (call as? CallUi.Ended)?.let { Text("Last call ended: ${it.cause.name.lowercase().replace('_', ' ')}") }
                    when (val s = screen) {
                        Screen.SignIn -> SignInScreen()
                        is Screen.People -> PeopleScreen(s)
                    }
                    TextButton(onClick = { showSettings = true }) { Text("Settings") }
                }
            }
        }
    }

    @Composable
    private fun SignInScreen() {
        val scope = rememberCoroutineScope()
        var first by remember { mutableStateOf("") }
        var last by remember { mutableStateOf("") }
        var busy by remember { mutableStateOf(false) }
        Text("Who are you?", style = MaterialTheme.typography.headlineSmall)
        OutlinedTextField(first, { first = it }, label = { Text("First name") }, modifier = Modifier.fillMaxWidth())
        OutlinedTextField(last, { last = it }, label = { Text("Last name") }, modifier = Modifier.fillMaxWidth())
        Button(enabled = !busy, onClick = {
            busy = true
            scope.launch {
                val token = runCatching { FirebaseMessaging.getInstance().token.await() }.getOrNull()
                    // Without Firebase (no google-services.json) the app still works in the
                    // foreground through the event channel; this placeholder keeps register valid.
                    ?: "no-fcm-${android.provider.Settings.Secure.getString(contentResolver, android.provider.Settings.Secure.ANDROID_ID)}"
                if (app.model.signIn(first, last, token)) afterSignIn()
                busy = false
            }
        }) { Text("Sign in") }
    }

    @Composable
    private fun PeopleScreen(s: Screen.People) {
        val scope = rememberCoroutineScope()
        Text("Hello ${s.me?.firstName ?: ""}", style = MaterialTheme.typography.headlineSmall)
        if (s.others.isEmpty()) Text("Nobody else has signed in yet.")
        LazyColumn(verticalArrangement = Arrangement.spacedBy(8.dp)) {
            items(s.others, key = Person::id) { person ->
                Row(Modifier.fillMaxWidth(), verticalAlignment = Alignment.CenterVertically) {
                    Text("${person.firstName} ${person.lastName}", Modifier.weight(1f))
                    Button(onClick = { withMicrophone { app.scope.launch { app.calls.call(person) } } }) { Text("Call") }
                }
            }
        }
        TextButton(onClick = { scope.launch { app.model.refresh() } }) { Text("Refresh") }
    }

    @Composable
    private fun CallScreen(call: CallUi) {
        when (call) {
            is CallUi.Ringing -> {
                Text(call.invite.callerName ?: call.invite.handle, style = MaterialTheme.typography.headlineMedium)
                Text("is calling you")
                Row(horizontalArrangement = Arrangement.spacedBy(16.dp)) {
                    OutlinedButton(onClick = { app.scope.launch { app.calls.decline(call.invite.callId) } }) { Text("Decline") }
                    Button(onClick = {
                        withMicrophone {
                            CallForegroundService.start(this@MainActivity, call.invite.callerName ?: "Call")
                            app.scope.launch { app.calls.answer(call.invite.callId) }
                        }
                    }) { Text("Answer") }
                }
            }
            is CallUi.Dialing -> {
                Text("${call.callee.firstName} ${call.callee.lastName}", style = MaterialTheme.typography.headlineMedium)
                Text(if (call.calleeRinging) "Ringing…" else "Calling…")
                Button(onClick = { app.scope.launch { app.calls.hangUp() } }) { Text("Hang up") }
            }
            is CallUi.Active -> {
                Text(call.peer, style = MaterialTheme.typography.headlineMedium)
                Text("In call")
                Row(horizontalArrangement = Arrangement.spacedBy(16.dp)) {
                    OutlinedButton(onClick = { app.calls.setMuted(!call.muted) }) { Text(if (call.muted) "Unmute" else "Mute") }
                    Button(onClick = { app.scope.launch { app.calls.hangUp() } }) { Text("Hang up") }
                }
                // Earpiece, speaker, wired headset, Bluetooth: what Telecom offers right now.
                val routes by app.telecom.routes.collectAsState()
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    routes.available.forEach { endpoint ->
                        val selected = endpoint.identifier == routes.current?.identifier
                        OutlinedButton(onClick = { app.telecom.selectRoute(endpoint) }, enabled = !selected) {
                            Text(endpoint.name.toString())
                        }
                    }
                }
            }
            else -> {}
        }
    }

    @Composable
    private fun SettingsScreen(done: () -> Unit) {
        val current = remember { app.settings.load() ?: BackendSettings.Mock() }
        var mock by remember { mutableStateOf(current is BackendSettings.Mock) }
        var mockUrl by remember { mutableStateOf((current as? BackendSettings.Mock)?.baseUrl ?: BackendSettings.EMULATOR_HOST_MOCK) }
        val real = current as? BackendSettings.Real
        var rest by remember { mutableStateOf(real?.restUrl ?: "") }
        var graphql by remember { mutableStateOf(real?.graphqlUrl ?: "") }
        var key by remember { mutableStateOf(real?.graphqlApiKey ?: "") }
        var problem by remember { mutableStateOf<String?>(null) }
        Text("Backend", style = MaterialTheme.typography.headlineSmall)
        Row(verticalAlignment = Alignment.CenterVertically) {
            RadioButton(mock, { mock = true }); Text("Mock server")
            Spacer(Modifier.height(8.dp))
            RadioButton(!mock, { mock = false }); Text("Real backend")
        }
        if (mock) {
            OutlinedTextField(mockUrl, { mockUrl = it }, label = { Text("Mock URL (emulator: 10.0.2.2)") }, modifier = Modifier.fillMaxWidth())
        } else {
            OutlinedTextField(rest, { rest = it }, label = { Text("REST URL (…/api)") }, modifier = Modifier.fillMaxWidth())
            OutlinedTextField(graphql, { graphql = it }, label = { Text("AppSync GraphQL URL") }, modifier = Modifier.fillMaxWidth())
            OutlinedTextField(key, { key = it }, label = { Text("AppSync API key") }, modifier = Modifier.fillMaxWidth())
        }
        problem?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        Row(horizontalArrangement = Arrangement.spacedBy(16.dp)) {
            TextButton(onClick = done) { Text("Cancel") }
            Button(onClick = {
                val chosen = if (mock) BackendSettings.Mock(mockUrl.trim()) else BackendSettings.Real(rest.trim(), graphql.trim(), key.trim())
                // Validate by building the configuration: a bad URL is a clear message, not a crash.
                problem = runCatching { chosen.toConfig().close() }.exceptionOrNull()?.message
                if (problem == null) {
                    app.settings.save(chosen)
                    app.connect()
                    done()
                }
            }) { Text("Save") }
        }
    }
}
