// The mock for the sample's tests: one dialtone-mock process (extended profile) per test
// run, on a free loopback port, gone with the JVM — started with dialtone-testing, as any
// app's own tests would.
package dev.dialtone.sample

import dev.dialtone.LogLevel
import dev.dialtone.initLogging
import dev.dialtone.testing.DialtoneMock
import dev.dialtone.testing.MockProfile

object SampleMock {
    val mock: DialtoneMock by lazy {
        initLogging(LogLevel.WARN, null)
        DialtoneMock.start(MockProfile.EXTENDED)
    }
    val baseUrl: String get() = mock.baseUrl
}
