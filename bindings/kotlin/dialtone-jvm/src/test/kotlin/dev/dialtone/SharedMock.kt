// One dialtone-mock process per profile for the whole JVM test run, each started on first
// use on a free loopback port; they exit with the JVM (stdin closes) or at the shutdown hook.
// `seed` is exactly the real backend; `extended` adds client secrets, call ids and /ws.
package dev.dialtone

import java.util.concurrent.TimeUnit

object SharedMock {
    /** The seed profile: pushes carry the callee's token, decline is endCall. */
    val baseUrl: String by lazy { start("seed") }

    /** The extended profile (the mock's default). */
    val extendedUrl: String by lazy { start("extended") }

    private fun start(profile: String): String {
        val bin = System.getenv("DIALTONE_MOCK_BIN") ?: error("DIALTONE_MOCK_BIN is not set")
        val process = ProcessBuilder(bin, "--listen", "127.0.0.1:0", "--profile", profile, "--exit-on-stdin-eof")
            .redirectErrorStream(true).start()
        Runtime.getRuntime().addShutdownHook(Thread {
            process.destroy()
            process.waitFor(5, TimeUnit.SECONDS)
        })
        val first = process.inputStream.bufferedReader().readLine() ?: error("mock printed nothing")
        val prefix = "dialtone-mock listening on "
        check(first.startsWith(prefix)) { "unexpected first line: $first" }
        initLogging(LogLevel.WARN, null)
        return first.removePrefix(prefix).trim()
    }
}
