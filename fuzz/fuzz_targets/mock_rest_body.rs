//! A REST request body to the mock's `/api` (both profiles, with and without a bearer
//! secret), through its real router in-process.
#![no_main]
use dialtone_mock::fuzzing::harness;
use dialtone_mock::Profile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let profile = if first & 1 == 0 {
        Profile::Seed
    } else {
        Profile::Extended
    };
    let (rt, target) = harness(profile);
    let bearer = if first & 2 == 0 {
        None
    } else {
        Some("Bearer fuzz-secret")
    };
    let mut headers = vec![("content-type", "application/json")];
    if let Some(b) = bearer {
        headers.push(("authorization", b));
    }
    // Each harness runs on its own runtime.
    let rt = if first & 1 == 0 {
        rt
    } else {
        &harness(Profile::Extended).0
    };
    rt.block_on(target.post("/api", &headers, body.to_vec()));
});
