// dialtone-testing as an app developer uses it: phones registered with the mock, a call
// with tones placed and answered through pushes, on both profiles; the mock's failures are
// clear errors.
package dev.dialtone

import dev.dialtone.testing.DialtoneMock
import dev.dialtone.testing.MockException
import dev.dialtone.testing.callWithTones
import dev.dialtone.testing.phone
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File

class TestingArtifactTest {
    private fun placeAndHangUp(mock: DialtoneMock) = runBlocking<Unit> {
        mock.phone("Ada", "Caller").use { ada ->
            mock.phone("Bob", "Callee").use { bob ->
                val call = ada.callWithTones(mock, bob)
                assertEquals(CallState.Connected, call.caller.state())
                assertEquals(bob.clientId, call.caller.remoteClientId())
                call.hangup()
                assertTrue(call.caller.state() is CallState.Ended)
                assertTrue(call.callee.state() is CallState.Ended)
            }
        }
    }

    @Test
    fun aToneCallOnTheSeedProfile() = placeAndHangUp(SharedMock.seed)

    @Test
    fun aToneCallOnTheExtendedProfile() = placeAndHangUp(SharedMock.extended)

    @Test
    fun noPushIsNullAndABadBinaryIsAClearError() {
        assertNull(SharedMock.extended.nextPush("nobody-${System.nanoTime()}", 0))
        val e = expectThrows<MockException> { DialtoneMock.start(binary = File("/nonexistent/dialtone-mock")) }
        assertTrue(e.message!!.contains("cannot run"), e.message)
    }
}
