// One dialtone-mock process per profile for the whole JVM test run, each started on first
// use on a free loopback port through dialtone-testing's DialtoneMock (the artifact app
// developers use), so the project's own suites exercise it. They exit with the JVM.
// `seed` is exactly the real backend; `extended` adds client secrets, call ids and /ws.
package dev.dialtone

import dev.dialtone.testing.DialtoneMock
import dev.dialtone.testing.MockProfile

object SharedMock {
    val seed: DialtoneMock by lazy { start(MockProfile.SEED) }
    val extended: DialtoneMock by lazy { start(MockProfile.EXTENDED) }

    /** The seed profile: pushes carry the callee's token, decline is endCall. */
    val baseUrl: String get() = seed.baseUrl

    /** The extended profile (the mock's default). */
    val extendedUrl: String get() = extended.baseUrl

    /** A fresh data directory for one client, under java.io.tmpdir (scripts/test-kotlin.sh removes it). */
    fun dataDir(prefix: String): String = java.nio.file.Files.createTempDirectory(prefix).toString()

    private fun start(profile: MockProfile): DialtoneMock {
        initLogging(LogLevel.WARN, null)
        return DialtoneMock.start(profile)
    }
}
