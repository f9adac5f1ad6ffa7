// One dialtone-mock process for the whole JVM test run, started on first use on a free
// loopback port; it exits with the JVM (stdin closes) or at the shutdown hook.
package dev.dialtone

import java.util.concurrent.TimeUnit

object SharedMock {
    val baseUrl: String by lazy {
        val bin = System.getenv("DIALTONE_MOCK_BIN") ?: error("DIALTONE_MOCK_BIN is not set")
        val process = ProcessBuilder(bin, "--listen", "127.0.0.1:0", "--exit-on-stdin-eof").redirectErrorStream(true).start()
        Runtime.getRuntime().addShutdownHook(Thread {
            process.destroy()
            process.waitFor(5, TimeUnit.SECONDS)
        })
        val first = process.inputStream.bufferedReader().readLine() ?: error("mock printed nothing")
        val prefix = "dialtone-mock listening on "
        check(first.startsWith(prefix)) { "unexpected first line: $first" }
        initLogging(LogLevel.WARN, null)
        first.removePrefix(prefix).trim()
    }
}
