// Answer / Decline from the incoming-call notification.
//
// Answer opens an activity, so its PendingIntent is an activity PendingIntent straight to
// IncomingCallActivity: since Android 12 (targetSdk >= 31) an activity started from a
// notification action's BroadcastReceiver or Service (a "notification trampoline") is
// blocked (developer.android.com/about/versions/12/behavior-changes-12#notification-trampolines).
// Decline needs no UI and stays a broadcast, finished in the app's scope.
package dev.dialtone.sample.android

import android.app.PendingIntent
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import kotlinx.coroutines.launch

class CallActionReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        if (intent.action != DECLINE) return
        val app = SampleApp.of(context)
        val callId = intent.getStringExtra(TelecomCallSystem.EXTRA_CALL_ID) ?: return
        Notifications.cancelIncoming(context, callId)
        val pending = goAsync()
        app.scope.launch {
            try {
                app.calls.decline(callId)
            } finally {
                pending.finish()
            }
        }
    }

    companion object {
        const val ANSWER = "dev.dialtone.sample.ANSWER"
        const val DECLINE = "dev.dialtone.sample.DECLINE"

        fun intent(context: Context, action: String, callId: String): PendingIntent = when (action) {
            // The activity answers at once (asking for the microphone first if it must).
            ANSWER -> PendingIntent.getActivity(
                context, (action + callId).hashCode(),
                Intent(context, IncomingCallActivity::class.java)
                    .setAction(ANSWER)
                    .addFlags(Intent.FLAG_ACTIVITY_NEW_TASK)
                    .putExtra(TelecomCallSystem.EXTRA_CALL_ID, callId),
                PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
            )
            else -> PendingIntent.getBroadcast(
                context, (action + callId).hashCode(),
                Intent(context, CallActionReceiver::class.java).setAction(action).putExtra(TelecomCallSystem.EXTRA_CALL_ID, callId),
                PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
            )
        }
    }
}
