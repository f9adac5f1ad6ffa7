// Checks the AAR's classes on the JVM, as Android would load them: every native method of
// the keyring's JNI class has, under JNI's naming rules, a symbol the Rust library exports
// for Android (the list comes from `nm` on android-native-keyring-store built for
// aarch64-linux-android), and the initialiser the manifest names is a startup Initializer
// Android can instantiate. Prints what it checked; exits 1 with the reason otherwise.
//   java -cp classes:stubs:kotlin-stdlib AarCheckKt SYMBOLS_FILE INITIALIZER_CLASS JNI_CLASS...
import java.io.File
import java.lang.reflect.Modifier
import kotlin.system.exitProcess

/** JNI's short name of a native method (JNI spec, "Resolving Native Method Names"). */
fun jniName(className: String, method: String): String =
    "Java_" + mangle(className.replace('.', '/')) + "_" + mangle(method)

fun mangle(name: String): String = buildString {
    for (c in name) when {
        c == '/' -> append('_')
        c == '_' -> append("_1")
        c == ';' -> append("_2")
        c == '[' -> append("_3")
        c in 'a'..'z' || c in 'A'..'Z' || c in '0'..'9' -> append(c)
        else -> append("_0").append("%04x".format(c.code))
    }
}

fun fail(why: String): Nothing {
    System.err.println("[aar] FAIL: $why")
    exitProcess(1)
}

fun main(args: Array<String>) {
    if (args.size < 3) fail("usage: AarCheck SYMBOLS_FILE INITIALIZER_CLASS JNI_CLASS...")
    val exported = File(args[0]).readLines().map { it.trim() }.filter { it.startsWith("Java_") }.toSet()
    val loader = Thread.currentThread().contextClassLoader
    // Loaded without running static initialisers: those load libdialtone, which is Android's.
    val initializer = Class.forName(args[1], false, loader)
    val startup = Class.forName("androidx.startup.Initializer", false, loader)
    if (!startup.isAssignableFrom(initializer)) fail("${args[1]} is not an androidx.startup.Initializer")
    if (initializer.constructors.none { it.parameterCount == 0 && Modifier.isPublic(it.modifiers) }) {
        fail("${args[1]} has no public no-argument constructor (androidx.startup instantiates it)")
    }
    println("[aar] ${args[1]}: an androidx.startup.Initializer with a public no-argument constructor")
    for (name in args.drop(2)) {
        val cls = Class.forName(name, false, loader)
        val natives = cls.declaredMethods.filter { Modifier.isNative(it.modifiers) }
        if (natives.isEmpty()) fail("$name declares no native method")
        for (m in natives) {
            val symbol = jniName(cls.name, m.name)
            if (symbol !in exported) fail("$name.${m.name} binds to $symbol, which the Android library does not export (it exports: ${exported.joinToString()})")
            println("[aar] $name.${m.name} -> $symbol: exported")
        }
    }
}
