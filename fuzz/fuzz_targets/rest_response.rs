//! A REST (API Gateway + Lambda) response: the first byte picks the status class, the rest
//! is the body.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let status = [200u16, 400, 401, 403, 404, 409, 429, 500, 502, 503][first as usize % 10];
    let _ = dialtone::testing::parsers::rest_response(status, body);
});
