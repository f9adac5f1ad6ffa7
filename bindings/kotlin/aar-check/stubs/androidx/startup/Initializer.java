// Compile-time stand-in for androidx.startup.Initializer (startup-runtime 1.2.0's
// signature), so DialtoneInitializer compiles here. Never packaged.
package androidx.startup;

import android.content.Context;
import java.util.List;

public interface Initializer<T> {
    T create(Context context);

    List<Class<? extends Initializer<?>>> dependencies();
}
