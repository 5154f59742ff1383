//! What pmem-sweep passes on to every run: its standard input, read once,
//! and the variables libpmemobj programs need.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

/// pmem-sweep's standard input, as every run of the program gets it.
pub struct Input {
    /// The copy the runs read (inside the work directory), if any.
    pub copy: Option<PathBuf>,
    /// How a reproducer names it: the file pmem-sweep's stdin came from,
    /// when that is a regular file.
    pub origin: Option<String>,
    pub len: usize,
}

/// Reads all of stdin into `work/stdin`, unless stdin is a terminal (the
/// runs then read /dev/null: a sweep must not wait for typing).
pub fn capture(work: &Path) -> Result<Input, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(Input {
            copy: None,
            origin: None,
            len: 0,
        });
    }
    let mut data = Vec::new();
    stdin
        .lock()
        .read_to_end(&mut data)
        .map_err(|e| format!("reading standard input: {e}"))?;
    let copy = work.join("stdin");
    std::fs::write(&copy, &data).map_err(|e| format!("{}: {e}", copy.display()))?;
    let origin = std::fs::read_link("/proc/self/fd/0")
        .ok()
        .filter(|p| p.is_absolute() && p.is_file())
        .map(|p| p.to_string_lossy().into_owned());
    Ok(Input {
        copy: Some(copy),
        origin,
        len: data.len(),
    })
}

/// The variable libpmemobj needs to flush lines (pmem_persist) rather
/// than msync whole pages, which a sweep could only cut at page grain.
pub const FORCE: &str = "PMEM_IS_PMEM_FORCE";

/// Variables set for every command: PMEM_IS_PMEM_FORCE=1 unless the user
/// set it.
pub fn defaults() -> Vec<(String, String)> {
    match std::env::var_os(FORCE) {
        Some(_) => Vec::new(),
        None => vec![(FORCE.to_string(), "1".to_string())],
    }
}

/// Variables of pmem-sweep's environment a run by hand needs too: the
/// library path and every PMEM setting not chosen by the sweep itself.
pub fn inherited() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| {
            k == "LD_LIBRARY_PATH"
                || k == "LD_PRELOAD"
                || (k.starts_with("PMEM") && !crate::runner::MODE_VARS.contains(&k.as_str()))
        })
        .filter(|(k, _)| !k.starts_with("PMEM_SWEEP"))
        .collect();
    out.sort();
    out
}
