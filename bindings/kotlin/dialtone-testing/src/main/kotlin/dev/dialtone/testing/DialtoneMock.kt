// The bundled mock backend for an app's own tests: one dialtone-mock process on a free
// loopback port, started by start() and stopped by close(). The binary comes from (first
// found) the `binary` argument, the DIALTONE_MOCK_BIN environment variable, the
// `dialtone.mock.bin` system property, or this jar's resources
// (dev/dialtone/testing/<JNA resource prefix>/dialtone-mock, packaged by build-aar.sh).
// It also exits when the JVM does: its stdin is ours (--exit-on-stdin-eof).
package dev.dialtone.testing

import com.sun.jna.Platform
import dev.dialtone.BackendConfig
import dev.dialtone.DialtoneClient
import java.io.File
import java.net.URI
import java.net.URLEncoder
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.nio.file.StandardCopyOption
import java.time.Duration
import java.util.concurrent.TimeUnit

/** Which wire contract the mock speaks: `SEED` is exactly the real backend; `EXTENDED` adds client secrets, call ids and the event channel (docs/extended-profile.md). */
enum class MockProfile(internal val flag: String) { SEED("seed"), EXTENDED("extended") }

/** The mock failed to start, or answered something unexpected. */
class MockException(message: String, cause: Throwable? = null) : RuntimeException(message, cause)

class DialtoneMock private constructor(
    private val process: Process,
    /** `http://127.0.0.1:PORT`: give it to `BackendConfig.mock`. */
    val baseUrl: String,
    val profile: MockProfile,
) : AutoCloseable {
    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

    /** The backend configuration of a client that talks to this mock. */
    fun backendConfig(): BackendConfig = BackendConfig.mock(baseUrl, null)

    /** A new client of this mock, keeping its identity in [dataDir] (a fresh temporary directory by default). Close it after use. */
    @JvmOverloads
    fun newClient(dataDir: File = Files.createTempDirectory("dialtone-test").toFile()): DialtoneClient =
        DialtoneClient(backendConfig(), dataDir.path)

    /**
     * The next push the backend sent to [deviceToken], exactly as the device receives it: the
     * FCM data map or the APNs payload, as JSON (hand it to `handlePush`). Waits up to
     * [waitMs]; null when none came.
     */
    @JvmOverloads
    fun nextPush(deviceToken: String, waitMs: Long = 5_000): String? {
        val query = "deviceToken=${URLEncoder.encode(deviceToken, Charsets.UTF_8)}&waitMs=$waitMs"
        val request = HttpRequest.newBuilder(URI.create("$baseUrl/mock/pushes?$query"))
            .timeout(Duration.ofMillis(waitMs + 5_000)).build()
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        if (response.statusCode() != 200) throw MockException("GET /mock/pushes answered ${response.statusCode()}: ${response.body()}")
        return JsonSlice.firstObjectOf(response.body(), "data") ?: JsonSlice.firstObjectOf(response.body(), "payload")
    }

    /** Stops the mock (all its state is lost). */
    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly()
    }

    companion object {
        private const val READY = "dialtone-mock listening on "

        /** Starts a mock with [profile] on a free port of 127.0.0.1 and waits until it listens. */
        @JvmStatic
        @JvmOverloads
        fun start(profile: MockProfile = MockProfile.EXTENDED, binary: File? = null): DialtoneMock {
            val bin = binary ?: locate()
            val process = try {
                ProcessBuilder(bin.path, "--listen", "127.0.0.1:0", "--profile", profile.flag, "--exit-on-stdin-eof")
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start()
            } catch (e: java.io.IOException) {
                throw MockException("cannot run $bin", e)
            }
            Runtime.getRuntime().addShutdownHook(Thread { process.destroy() })
            val first = process.inputStream.bufferedReader().readLine()
            if (first == null || !first.startsWith(READY)) {
                process.destroyForcibly()
                throw MockException("dialtone-mock did not start (first line: $first)")
            }
            // Keep draining stdout so the mock never blocks on a full pipe.
            Thread({ process.inputStream.use { it.copyTo(java.io.OutputStream.nullOutputStream()) } }, "dialtone-mock-stdout")
                .apply { isDaemon = true }.start()
            return DialtoneMock(process, first.removePrefix(READY).trim(), profile)
        }

        private fun locate(): File {
            System.getenv("DIALTONE_MOCK_BIN")?.let { return File(it) }
            System.getProperty("dialtone.mock.bin")?.let { return File(it) }
            val name = if (Platform.isWindows()) "dialtone-mock.exe" else "dialtone-mock"
            val resource = "/dev/dialtone/testing/${Platform.RESOURCE_PREFIX}/$name"
            val stream = DialtoneMock::class.java.getResourceAsStream(resource)
                ?: throw MockException(
                    "no dialtone-mock for ${Platform.RESOURCE_PREFIX} in this jar: set DIALTONE_MOCK_BIN " +
                        "(cargo build --release -p dialtone-mock)",
                )
            val file = Files.createTempFile("dialtone-mock", "").toFile()
            file.deleteOnExit()
            stream.use { Files.copy(it, file.toPath(), StandardCopyOption.REPLACE_EXISTING) }
            file.setExecutable(true)
            return file
        }
    }
}

/** Cuts one JSON object out of a JSON text without a JSON library (the mock's output is compact). */
internal object JsonSlice {
    /** The text of the object that is the value of the first `"key":` in [json], or null. */
    fun firstObjectOf(json: String, key: String): String? {
        // A key is the only place `"key":{` can appear: inside strings its quotes are escaped.
        val start = json.indexOf("\"$key\":{").takeIf { it >= 0 }?.let { it + key.length + 3 } ?: return null
        var depth = 0
        var inString = false
        var i = start
        while (i < json.length) {
            val c = json[i]
            if (inString) {
                if (c == '\\') i++ else if (c == '"') inString = false
            } else when (c) {
                '"' -> inString = true
                '{', '[' -> depth++
                '}', ']' -> if (--depth == 0) return json.substring(start, i + 1)
            }
            i++
        }
        return null
    }
}
