// The runtime permissions, each asked for when it is first needed:
// POST_NOTIFICATIONS (Android 13+) right after sign-in, since incoming calls are
// notifications; RECORD_AUDIO before the first call is placed or answered; and the
// full-screen-intent access (Android 14+) checked after sign-in, with a way to the settings
// page. MANAGE_OWN_CALLS and FOREGROUND_SERVICE_PHONE_CALL are install-time permissions.
package dev.dialtone.sample.android

import android.Manifest
import android.app.NotificationManager
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Build
import android.provider.Settings

object Permissions {
    fun hasMicrophone(context: Context) =
        context.checkSelfPermission(Manifest.permission.RECORD_AUDIO) == PackageManager.PERMISSION_GRANTED

    fun needsNotifications(context: Context) = Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU &&
        context.checkSelfPermission(Manifest.permission.POST_NOTIFICATIONS) != PackageManager.PERMISSION_GRANTED

    fun needsFullScreenAccess(context: Context) = Build.VERSION.SDK_INT >= 34 &&
        !context.getSystemService(NotificationManager::class.java).canUseFullScreenIntent()

    fun fullScreenSettings(context: Context) =
        Intent(Settings.ACTION_MANAGE_APP_USE_FULL_SCREEN_INTENT, Uri.parse("package:${context.packageName}"))
}
