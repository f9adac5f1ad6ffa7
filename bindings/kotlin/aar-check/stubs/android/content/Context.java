// Compile-time stand-in for android.content.Context (Java, as the SDK's is, so Kotlin sees
// `applicationContext`), so the AAR's own classes compile without the Android SDK. Never
// packaged: the check's classes.jar holds only dev/dialtone/** and io/crates/**.
package android.content;

public abstract class Context {
    public abstract Context getApplicationContext();
}
