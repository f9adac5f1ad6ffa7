//! Test support: the transitions a mermaid state diagram of ARCHITECTURE.md draws, for the
//! tests that check a machine's table against its diagram (`calls::machine`,
//! `media::recovery`).

/// The `-->` lines (entry arrows from `[*]` left out), trimmed and sorted, of the first
/// mermaid block of ARCHITECTURE.md that contains `marker`.
pub(crate) fn drawn_transitions(marker: &str) -> Vec<String> {
    let doc = include_str!("../../ARCHITECTURE.md");
    let block = doc
        .split("```mermaid")
        .skip(1)
        .find(|b| b.contains(marker))
        .and_then(|b| b.split("```").next())
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has a mermaid diagram with {marker:?}"));
    let mut drawn: Vec<String> = block
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("-->") && !l.contains("[*]"))
        .map(str::to_string)
        .collect();
    drawn.sort();
    drawn
}
