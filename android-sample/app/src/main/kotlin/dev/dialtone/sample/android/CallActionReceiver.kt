// Answer / Decline from the incoming-call notification.
package dev.dialtone.sample.android

import android.app.PendingIntent
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import kotlinx.coroutines.launch

class CallActionReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        val app = SampleApp.of(context)
        val callId = intent.getStringExtra(TelecomCallSystem.EXTRA_CALL_ID) ?: return
        Notifications.cancelIncoming(context, callId)
        val pending = goAsync()
        app.scope.launch {
            try {
                when (intent.action) {
                    ANSWER -> {
                        // Audio needs the microphone permission; without it, open the app to ask.
                        if (Permissions.hasMicrophone(context)) {
                            CallForegroundService.start(context, "Call")
                            app.calls.answer(callId)
                        } else {
                            context.startActivity(
                                Intent(context, MainActivity::class.java)
                                    .addFlags(Intent.FLAG_ACTIVITY_NEW_TASK)
                                    .putExtra(TelecomCallSystem.EXTRA_CALL_ID, callId),
                            )
                        }
                    }
                    DECLINE -> app.calls.decline(callId)
                }
            } finally {
                pending.finish()
            }
        }
    }

    companion object {
        const val ANSWER = "dev.dialtone.sample.ANSWER"
        const val DECLINE = "dev.dialtone.sample.DECLINE"

        fun intent(context: Context, action: String, callId: String): PendingIntent = PendingIntent.getBroadcast(
            context, (action + callId).hashCode(),
            Intent(context, CallActionReceiver::class.java).setAction(action).putExtra(TelecomCallSystem.EXTRA_CALL_ID, callId),
            PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
        )
    }
}
