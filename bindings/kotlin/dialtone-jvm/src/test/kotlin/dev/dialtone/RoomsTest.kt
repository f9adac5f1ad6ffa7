// Rooms from Kotlin, through the testing kit as an app developer uses it: three phones in a
// room hear each other; the member list (a Flow) and the events name who comes and goes;
// a mute reaches the others; the seed backend has no rooms (a typed error).
package dev.dialtone

import dev.dialtone.testing.awaitTrue
import dev.dialtone.testing.phone
import dev.dialtone.testing.room
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.util.concurrent.CopyOnWriteArrayList

class RoomsTest {
    @Test
    fun threePhonesInARoomHearEachOtherAndSeeWhoLeaves() = runBlocking<Unit> {
        val mock = SharedMock.extended
        mock.phone("Ada").use { ada ->
            mock.phone("Bob").use { bob ->
                mock.phone("Cy").use { cy ->
                    val r = mock.room(ada, bob, cy)
                    val (adaRoom, bobRoom, cyRoom) = r.rooms
                    assertEquals(RoomState.Joined, adaRoom.state())
                    // Ada's list: Ada first, then by entry, with names from the Persons.
                    val members = withTimeout(5_000) { adaRoom.membersFlow().first { it.size == 3 } }
                    assertEquals(listOf(true, false, false), members.map { it.isLocal })
                    assertEquals(listOf(ada.clientId, bob.clientId, cy.clientId), members.map { it.clientId })
                    assertEquals("Bob Phone", members[1].name)
                    val cyId = cyRoom.members().first { it.isLocal }.participantId

                    // Bob mutes: Ada sees the change, and stops hearing him.
                    bobRoom.setMuted(true)
                    awaitTrue("Ada to see Bob muted") {
                        adaRoom.members().any { it.clientId == bob.clientId && it.muted == true }
                    }
                    awaitTrue("Ada to stop hearing Bob") { !ada.client.heardRemoteTones(r.tones).contains(r.tones[1]) }

                    // Cy leaves: Ada's events say so, with the reason. The collector is
                    // subscribed (its snapshot is in) before Cy leaves.
                    val seen = CopyOnWriteArrayList<RoomEvent>()
                    val collector = launch(Dispatchers.Default) { adaRoom.events().toList(seen) }
                    awaitTrue("Ada's events to start") { seen.isNotEmpty() }
                    assertTrue(seen.first() is RoomEvent.Snapshot, "${seen.first()}")
                    cyRoom.leave()
                    cyRoom.leave() // idempotent
                    awaitTrue("Ada to see Cy leave") {
                        seen.any { it is RoomEvent.MemberLeft && it.member.participantId == cyId && it.reason == MemberLeftReason.LEFT }
                    }
                    assertTrue(cyRoom.state() is RoomState.Left)
                    // Ada's event Flow completes once she has left.
                    r.leave()
                    withTimeout(10_000) { collector.join() }
                    val last = seen.last()
                    assertTrue(last is RoomEvent.StateChanged && last.state is RoomState.Left, "$last")
                }
            }
        }
    }

    @Test
    fun aMemberRingsAPhoneWhichAnswersIntoTheRoom() = runBlocking<Unit> {
        val mock = SharedMock.extended
        mock.phone("Ada").use { ada ->
            mock.phone("Bob").use { bob ->
                val room = ada.client.createRoom()
                val seen = CopyOnWriteArrayList<RoomEvent>()
                val collector = launch(Dispatchers.Default) { room.events().toList(seen) }
                awaitTrue("Ada's events to start") { seen.isNotEmpty() }
                val incoming = CopyOnWriteArrayList<Call>()
                val handle = bob.client.observeIncomingCalls(object : IncomingCallListener {
                    override fun onIncomingCall(call: Call) { incoming.add(call) }
                })
                awaitTrue("Bob's event channel") { bob.client.isEventChannelConnected() }
                val invites = room.ring(listOf(bob.clientId))
                assertEquals(listOf(bob.clientId), invites.map { it.clientId })
                awaitTrue("Bob to ring") { incoming.isNotEmpty() }
                val call = incoming.first()
                assertEquals(room.id(), call.roomId())
                // Answering the invite (as a Telecom or CallKit answer would) enters the room.
                call.answer()
                val bobRoom = bob.client.activeRoom() ?: throw AssertionError("Bob is in no room")
                assertEquals(room.id(), bobRoom.id())
                awaitTrue("Ada to see Bob's invite joined") {
                    seen.any { it is RoomEvent.InviteChanged && it.clientId == bob.clientId && it.state == InviteState.JOINED }
                }
                awaitTrue("Ada to see Bob join") {
                    seen.any { it is RoomEvent.MemberJoined && it.member.clientId == bob.clientId }
                }
                handle.cancel()
                handle.close()
                bobRoom.leave()
                room.leave()
                withTimeout(10_000) { collector.join() }
            }
        }
    }

    @Test
    fun theSeedBackendHasNoRooms() = runBlocking<Unit> {
        SharedMock.seed.phone("Sam").use { sam ->
            val e = expectThrows<DialtoneException.RoomsUnavailable> { runBlocking { sam.client.createRoom() } }
            assertTrue(e.message.contains("rooms"), e.message)
        }
    }
}
