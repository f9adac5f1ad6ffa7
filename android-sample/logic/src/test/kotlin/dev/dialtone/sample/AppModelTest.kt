// The view-model on the JVM: sign-in validation and errors as messages, the live Person
// list, and the backend settings' configurations.
package dev.dialtone.sample

import dev.dialtone.DialtoneClient
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.nio.file.Files

class AppModelTest {
    @Test
    fun signInShowsTheListAndBadInputIsAMessage() = runBlocking<Unit> {
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        val settings = BackendSettings.Mock(SampleMock.baseUrl)
        DialtoneClient(settings.toConfig(), Files.createTempDirectory("dialtone-model").toString()).use { client ->
            val model = AppModel(client, scope)
            assertEquals(Screen.SignIn, model.screen.value)
            assertFalse(model.signIn("   ", "Sample", "model-token"))
            assertTrue(model.error.value!!.startsWith("Please check what you entered"), model.error.value)
            model.dismissError()
            assertTrue(model.signIn("Dana", "Sample", "model-token"))
            val deadline = System.currentTimeMillis() + 5_000
            while ((model.screen.value as? Screen.People)?.me == null && System.currentTimeMillis() < deadline) Thread.sleep(20)
            assertEquals("Dana", (model.screen.value as Screen.People).me?.firstName)
            model.close()
        }
        scope.cancel()
    }

    @Test
    fun settingsBuildConfigurationsAndHideTheKey() {
        val real = BackendSettings.Real("https://a.example/api", "https://b.appsync-api.x.amazonaws.com/graphql", "da2-secret")
        assertEquals("https://b.appsync-api.x.amazonaws.com/graphql", real.toConfig().graphqlUrl())
        assertFalse(real.toString().contains("da2-secret"))
        assertEquals("http://10.0.2.2:8080/api", BackendSettings.Mock().toConfig().restUrl())
        val bad = runCatching { BackendSettings.Mock("not a url").toConfig() }
        assertTrue(bad.exceptionOrNull() is dev.dialtone.DialtoneException.InvalidInput)
    }
}
