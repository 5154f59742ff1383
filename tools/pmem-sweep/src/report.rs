//! Reading the JSON-lines report libpmem's fit mode writes (PMEM_FIT_REPORT;
//! the records are described in docs/modes.md, parsed by the protocol
//! module the library shares).

pub use crate::protocol::{CrashRecord, Record};
use std::io::BufRead;
use std::path::Path;

/// The missing-flush records shown in full; the rest are counted.
pub const SHOWN: usize = 20;

/// What the counting run's report says, read a line at a time and kept in
/// bounded memory whatever the report's size (a 1 GiB pool can have
/// millions of unflushed ranges).
#[derive(Debug, Default)]
pub struct Summary {
    /// The largest point count any process reported.
    pub points: Option<u64>,
    /// The first [`SHOWN`] unflushed records.
    pub unflushed: Vec<Record>,
    /// Unflushed records past those, and their bytes.
    pub more_unflushed: u64,
    pub more_bytes: u64,
    pub flushed_lines: u64,
    pub wasted_lines: u64,
    /// The first three wasted-flush records.
    pub wasted: Vec<Record>,
}

/// Summarizes a report file (empty if it does not exist).
pub fn summarize(path: &Path) -> Summary {
    let mut s = Summary::default();
    let Ok(f) = std::fs::File::open(path) else {
        return s;
    };
    for line in std::io::BufReader::new(f).lines() {
        let Some(r) = line.ok().as_deref().and_then(Record::parse) else {
            continue;
        };
        if r.is("count") {
            s.points = s.points.max(Some(r.num("points")));
        } else if r.is("unflushed") {
            if s.unflushed.len() < SHOWN {
                s.unflushed.push(r);
            } else {
                s.more_unflushed += 1;
                s.more_bytes += r.num("len");
            }
        } else if r.is("summary") {
            s.flushed_lines += r.num("flushed_lines");
            s.wasted_lines += r.num("wasted_lines");
        } else if r.is("wasted") && s.wasted.len() < 3 {
            s.wasted.push(r);
        }
    }
    s
}

/// The records of a report file (none if it does not exist); lines that
/// do not parse (a process killed mid-write) are skipped.
pub fn read(path: &Path) -> Vec<Record> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(Record::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report of 200,000 unflushed ranges (a 25 MiB pool, every other
    /// line): the summary keeps 20 records and counts the rest.
    #[test]
    fn a_huge_report_is_summarized_in_bounded_memory() {
        use std::io::Write;
        let path = std::env::temp_dir().join(format!("pmem-sweep-report.{}", std::process::id()));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        writeln!(
            f,
            r#"{{"event":"count","pid":1,"points":3                   }}"#
        )
        .unwrap();
        for i in 0..200_000u64 {
            writeln!(
                f,
                r#"{{"event":"unflushed","file":"/j/pool","offset":{},"len":64,"lines":1,"since":0,"seen":1,"until":1,"at":"unmap"}}"#,
                i * 128
            )
            .unwrap();
        }
        writeln!(f, r#"{{"event":"count","pid":2,"points":7}}"#).unwrap();
        writeln!(
            f,
            r#"{{"event":"summary","flushed_lines":5,"wasted_lines":2}}"#
        )
        .unwrap();
        writeln!(f, r#"{{"event":"unfl"#).unwrap(); // cut by a kill
        drop(f);
        let s = summarize(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(s.points, Some(7));
        assert_eq!(s.unflushed.len(), SHOWN);
        assert_eq!(s.unflushed[1].num("offset"), 128);
        assert_eq!(s.more_unflushed, 200_000 - SHOWN as u64);
        assert_eq!(s.more_bytes, 64 * s.more_unflushed);
        assert_eq!((s.flushed_lines, s.wasted_lines), (5, 2));
        assert_eq!(summarize(Path::new("/nonexistent/report")).points, None);
    }
}
