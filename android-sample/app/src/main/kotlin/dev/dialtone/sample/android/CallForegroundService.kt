// Keeps the process alive and the microphone allowed while a call is up: a foreground
// service of type phoneCall (Android 14+ requires the type and FOREGROUND_SERVICE_PHONE_CALL),
// with an ongoing CallStyle notification that hangs up.
package dev.dialtone.sample.android

import android.app.Notification
import android.app.PendingIntent
import android.app.Person
import android.app.Service
import android.content.Context
import android.content.Intent
import android.content.pm.ServiceInfo
import android.os.Build
import android.os.IBinder
import kotlinx.coroutines.launch

class CallForegroundService : Service() {
    override fun onBind(intent: Intent?): IBinder? = null

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        if (intent?.action == HANG_UP) {
            SampleApp.of(this).let { app -> app.scope.launch { app.calls.hangUp() } }
            return START_NOT_STICKY
        }
        val peer = intent?.getStringExtra(EXTRA_PEER) ?: "Call"
        val hangUp = PendingIntent.getService(
            this, 1, Intent(this, CallForegroundService::class.java).setAction(HANG_UP),
            PendingIntent.FLAG_IMMUTABLE,
        )
        val builder = Notification.Builder(this, SampleApp.CHANNEL_ONGOING)
            .setSmallIcon(android.R.drawable.sym_action_call)
            .setContentTitle(peer)
            .setOngoing(true)
            .setCategory(Notification.CATEGORY_CALL)
            .setContentIntent(PendingIntent.getActivity(this, 0, Intent(this, MainActivity::class.java), PendingIntent.FLAG_IMMUTABLE))
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            builder.setStyle(Notification.CallStyle.forOngoingCall(Person.Builder().setName(peer).build(), hangUp))
        }
        val type = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
            ServiceInfo.FOREGROUND_SERVICE_TYPE_PHONE_CALL or ServiceInfo.FOREGROUND_SERVICE_TYPE_MICROPHONE
        } else {
            0
        }
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q) startForeground(ID, builder.build(), type) else startForeground(ID, builder.build())
        return START_NOT_STICKY
    }

    companion object {
        private const val ID = 42
        private const val HANG_UP = "dev.dialtone.sample.HANG_UP"
        private const val EXTRA_PEER = "peer"

        fun start(context: Context, peer: String) {
            context.startForegroundService(Intent(context, CallForegroundService::class.java).putExtra(EXTRA_PEER, peer))
        }

        fun stop(context: Context) {
            context.stopService(Intent(context, CallForegroundService::class.java))
        }
    }
}
