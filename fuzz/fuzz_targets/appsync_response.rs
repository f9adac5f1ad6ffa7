//! An AppSync GraphQL response for each field the core reads, then each Person in it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let status = [200u16, 400, 401, 500][first as usize % 4];
    for field in ["syncPeople", "createPerson", "updatePerson", "getPerson"] {
        if let Ok(value) = dialtone::testing::parsers::appsync_response(status, body, field) {
            let items = value
                .get("items")
                .and_then(|i| i.as_array())
                .cloned()
                .unwrap_or_default();
            for item in items.into_iter().chain([value]) {
                let _ = dialtone::testing::parsers::decode_person(item);
            }
        }
    }
});
