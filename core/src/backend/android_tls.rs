//! Android only: starting the platform's certificate verifier. rustls-platform-verifier asks
//! Android's trust manager through JNI, which needs the application Context and the
//! verifier's Kotlin component (`org.rustls.platformverifier.CertificateVerifier`, the
//! `rustls:rustls-platform-verifier` Maven artifact the app's build adds; ADR 0002). The
//! AAR's startup initializer calls [`Java_dev_dialtone_android_PlatformTls_initialize`] when
//! that class is on the class path. Until it has succeeded, `tls.rs` checks servers against
//! the Mozilla roots compiled into the library instead, so a client never fails for want of
//! the component: it then misses only user and enterprise CAs.

use std::sync::atomic::{AtomicBool, Ordering};

static READY: AtomicBool = AtomicBool::new(false);

/// Whether the platform verifier was started in this process.
pub(crate) fn platform_verifier_ready() -> bool {
    READY.load(Ordering::Acquire)
}

/// `dev.dialtone.android.PlatformTls.initialize(context)`: hands the Context to
/// rustls-platform-verifier; `true` once it is ready. A failure (or a panic) is reported as
/// `false`, never thrown into the caller.
#[no_mangle]
pub extern "system" fn Java_dev_dialtone_android_PlatformTls_initialize<'local>(
    mut env: jni::JNIEnv<'local>,
    _class: jni::objects::JClass<'local>,
    context: jni::objects::JObject<'local>,
) -> jni::sys::jboolean {
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rustls_platform_verifier::android::init_with_env(&mut env, context).is_ok()
    }))
    .unwrap_or(false);
    if ok {
        READY.store(true, Ordering::Release);
    } else {
        tracing::warn!(target: "dialtone::net", "the platform certificate verifier could not start; using the built-in roots");
    }
    if ok {
        jni::sys::JNI_TRUE
    } else {
        jni::sys::JNI_FALSE
    }
}
