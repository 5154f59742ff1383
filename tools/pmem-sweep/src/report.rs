//! Reading the JSON-lines report libpmem's fit mode writes (PMEM_FIT_REPORT;
//! the records are described in docs/modes.md, parsed by the protocol
//! module the library shares).

pub use crate::protocol::{CrashRecord, Record};
use std::path::Path;

/// The records of a report file (none if it does not exist); lines that
/// do not parse (a process killed mid-write) are skipped.
pub fn read(path: &Path) -> Vec<Record> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(Record::parse)
        .collect()
}

/// The largest point count any process of the run reported, if any did.
pub fn points(records: &[Record]) -> Option<u64> {
    records
        .iter()
        .filter(|r| r.is("count"))
        .map(|r| r.num("points"))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_point_count_is_the_largest_reported() {
        let recs = [
            r#"{"event":"count","points":3}"#,
            r#"{"event":"count","points":7}"#,
        ];
        let recs: Vec<_> = recs.iter().filter_map(|l| Record::parse(l)).collect();
        assert_eq!(points(&recs), Some(7));
        assert_eq!(points(&[]), None);
    }
}
