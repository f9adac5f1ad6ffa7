//! The link conditioner: impairment the SFU applies, per participant and per direction, to
//! what it forwards (`model`: the impairment of one link; `profiles`: the named ones).
//! A participant's uplink is what it publishes, before the SFU copies it; its downlink is
//! each copy the SFU sends it. Settings come from `--link`, `MockConfig::link` or
//! `POST /mock/link`, apply to links made from then on and to the participants named.

pub mod model;
pub mod profiles;
