//! Generates the Kotlin and Swift bindings from the built `dialtone` library.
//! Being part of the workspace keeps it on exactly the UniFFI version the core uses.
fn main() {
    uniffi::uniffi_bindgen_main()
}
