// The sample's view-model, free of Android: sign-in with a first and last name, the live
// Person list, and the backend choice. Screens render `screen`; actions are suspend
// functions the UI calls from its lifecycle scope. Errors become a message, never a crash.
package dev.dialtone.sample

import dev.dialtone.DialtoneClient
import dev.dialtone.DialtoneException
import dev.dialtone.Person
import dev.dialtone.PushKind
import dev.dialtone.PushToken
import dev.dialtone.personsFlow
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch

sealed interface Screen {
    data object SignIn : Screen
    data class People(val me: Person?, val others: List<Person>) : Screen
}

class AppModel(
    private val client: DialtoneClient,
    private val scope: CoroutineScope,
) : AutoCloseable {
    private val _screen = MutableStateFlow<Screen>(if (client.clientId() == null) Screen.SignIn else Screen.People(null, emptyList()))
    val screen: StateFlow<Screen> = _screen.asStateFlow()
    private val _error = MutableStateFlow<String?>(null)
    /** The last failure, in words for a snackbar. */
    val error: StateFlow<String?> = _error.asStateFlow()
    private var persons: Job? = null

    init {
        if (client.clientId() != null) follow()
    }

    /** Registers the FCM token (idempotent), saves the profile and starts the live list. */
    suspend fun signIn(firstName: String, lastName: String, fcmToken: String): Boolean =
        attempt {
            client.register(PushToken(PushKind.FCM, fcmToken))
            client.saveProfile(firstName, lastName)
            client.syncPersons()
            follow()
        }

    /** FirebaseMessagingService.onNewToken. */
    suspend fun onNewPushToken(fcmToken: String): Boolean =
        attempt { if (client.clientId() != null) client.updatePushToken(PushToken(PushKind.FCM, fcmToken)) }

    suspend fun refresh(): Boolean = attempt { client.syncPersons() }

    fun dismissError() {
        _error.value = null
    }

    private fun follow() {
        if (persons != null) return
        persons = scope.launch {
            client.personsFlow().collect { all ->
                _screen.value = Screen.People(all.firstOrNull { it.isSelf }, all.filterNot { it.isSelf })
            }
        }
    }

    private suspend fun attempt(block: suspend () -> Unit): Boolean =
        try {
            block()
            true
        } catch (e: DialtoneException) {
            _error.value = describe(e)
            false
        }

    override fun close() {
        persons?.cancel()
    }

    companion object {
        fun describe(e: DialtoneException): String = when (e) {
            is DialtoneException.Network -> "No connection to the server. Try again."
            is DialtoneException.Busy -> "They are already on a call."
            is DialtoneException.InvalidInput -> "Please check what you entered: ${e.detail}"
            is DialtoneException.Unauthorized -> "The server refused this app's credentials."
            is DialtoneException.NotRegistered -> "Please sign in again."
            else -> "Something went wrong: ${e.message}"
        }
    }
}
