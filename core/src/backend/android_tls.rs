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
pub extern "system" fn Java_dev_dialtone_android_PlatformTls_initialize<'caller>(
    mut env: jni::EnvUnowned<'caller>,
    _class: jni::objects::JClass<'caller>,
    context: jni::objects::JObject<'caller>,
) -> jni::sys::jboolean {
    let outcome = env
        .with_env(|env| -> jni::errors::Result<()> {
            rustls_platform_verifier::android::init_with_env(env, context)
        })
        .into_outcome();
    let ok = matches!(outcome, jni::Outcome::Ok(()));
    if ok {
        READY.store(true, Ordering::Release);
    } else {
        tracing::warn!(target: "dialtone::net", "the platform certificate verifier could not start; using the built-in roots");
    }
    jni::sys::jboolean::from(ok)
}
