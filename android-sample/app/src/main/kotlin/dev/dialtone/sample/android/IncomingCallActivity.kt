// The full-screen incoming-call UI, shown over the lock screen by the notification's
// full-screen intent. It finishes itself when the call stops ringing (answered, declined,
// cancelled by the caller, or answered on another device).
package dev.dialtone.sample.android

import android.Manifest
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import dev.dialtone.sample.CallUi
import kotlinx.coroutines.launch

class IncomingCallActivity : ComponentActivity() {
    private val app get() = SampleApp.of(this)
    private val callId get() = intent.getStringExtra(TelecomCallSystem.EXTRA_CALL_ID).orEmpty()

    private val microphone = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) answer()
    }

    /** Answers in the app's scope: this activity finishes at once, the answer must not. */
    private fun answer() {
        Notifications.cancelIncoming(this, callId)
        CallForegroundService.start(this, "Call")
        app.scope.launch { app.calls.answer(callId) }
        startActivity(android.content.Intent(this, MainActivity::class.java))
        finish()
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // The notification's Answer action opens this activity directly (no trampoline).
        if (intent.action == CallActionReceiver.ANSWER && savedInstanceState == null) {
            if (Permissions.hasMicrophone(this)) answer() else microphone.launch(Manifest.permission.RECORD_AUDIO)
        }
        setContent {
            val state by app.calls.state.collectAsState()
            LaunchedEffect(state) {
                if ((state as? CallUi.Ringing)?.invite?.callId != callId) finish()
            }
            val invite = (state as? CallUi.Ringing)?.invite
            MaterialTheme {
                Surface(Modifier.fillMaxSize()) {
                    Column(
                        Modifier.padding(32.dp),
                        horizontalAlignment = Alignment.CenterHorizontally,
                        verticalArrangement = Arrangement.spacedBy(24.dp),
                    ) {
                        Text(invite?.callerName ?: invite?.handle ?: "", style = MaterialTheme.typography.headlineLarge)
                        Text("Incoming call")
                        Row(horizontalArrangement = Arrangement.spacedBy(32.dp)) {
                            OutlinedButton(onClick = {
                                app.scope.launch { app.calls.decline(callId) }
                                finish()
                            }) { Text("Decline") }
                            Button(onClick = {
                                if (Permissions.hasMicrophone(this@IncomingCallActivity)) answer()
                                else microphone.launch(Manifest.permission.RECORD_AUDIO)
                            }) { Text("Answer") }
                        }
                    }
                }
            }
        }
    }
}
