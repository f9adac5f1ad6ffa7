// The incoming-call notification: CallStyle with Answer and Decline, and a full-screen
// intent that opens IncomingCallActivity over the lock screen when the screen is off.
package dev.dialtone.sample.android

import android.app.Notification
import android.app.NotificationManager
import android.app.PendingIntent
import android.app.Person
import android.content.Context
import android.content.Intent
import android.os.Build
import dev.dialtone.IncomingInvite

object Notifications {
    private fun id(callId: String) = callId.hashCode()

    fun showIncoming(context: Context, invite: IncomingInvite) {
        val flags = PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE
        val fullScreen = PendingIntent.getActivity(
            context, id(invite.callId),
            Intent(context, IncomingCallActivity::class.java).putExtra(TelecomCallSystem.EXTRA_CALL_ID, invite.callId),
            flags,
        )
        val answer = CallActionReceiver.intent(context, CallActionReceiver.ANSWER, invite.callId)
        val decline = CallActionReceiver.intent(context, CallActionReceiver.DECLINE, invite.callId)
        val caller = invite.callerName ?: invite.handle
        val builder = Notification.Builder(context, SampleApp.CHANNEL_INCOMING)
            .setSmallIcon(android.R.drawable.sym_call_incoming)
            .setContentTitle(caller)
            .setContentText("Incoming call")
            .setCategory(Notification.CATEGORY_CALL)
            .setOngoing(true)
            .setFullScreenIntent(fullScreen, true)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            builder.setStyle(Notification.CallStyle.forIncomingCall(Person.Builder().setName(caller).build(), decline, answer))
        } else {
            builder.addAction(Notification.Action.Builder(null, "Decline", decline).build())
            builder.addAction(Notification.Action.Builder(null, "Answer", answer).build())
        }
        context.getSystemService(NotificationManager::class.java).notify(id(invite.callId), builder.build())
    }

    fun cancelIncoming(context: Context, callId: String) {
        context.getSystemService(NotificationManager::class.java).cancel(id(callId))
    }
}
