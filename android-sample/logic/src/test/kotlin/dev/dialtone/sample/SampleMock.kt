// The mock for the sample's tests: one dialtone-mock process (extended profile) per test
// run, on a free loopback port, gone with the JVM. DIALTONE_MOCK_BIN names the binary.
package dev.dialtone.sample

import dev.dialtone.LogLevel
import dev.dialtone.initLogging
import java.util.concurrent.TimeUnit

object SampleMock {
    val baseUrl: String by lazy {
        val bin = System.getenv("DIALTONE_MOCK_BIN") ?: error("DIALTONE_MOCK_BIN is not set")
        val process = ProcessBuilder(bin, "--listen", "127.0.0.1:0", "--profile", "extended", "--exit-on-stdin-eof")
            .redirectErrorStream(true).start()
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
