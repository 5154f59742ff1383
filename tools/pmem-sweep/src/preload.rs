//! Fit mode's LD_PRELOAD companion, `libpmem-fit-preload.so`, for every
//! run: with it the library learns of each munmap, mremap and MAP_FIXED
//! mmap before the kernel acts, which closes the one case it cannot prove
//! from the kernel alone (a private mapping placed exactly where an adopted
//! one was plainly unmapped; docs/modes.md, "Soundness").

use std::path::{Path, PathBuf};

/// The preload's file name, as `make` builds and installs it.
pub const NAME: &str = "libpmem-fit-preload.so";
/// Names the preload to use; empty runs without one.
pub const VAR: &str = "PMEM_SWEEP_PRELOAD";

/// Where the preload is: `PMEM_SWEEP_PRELOAD` if set (empty: none), else
/// beside pmem-sweep (the build directory) or in `../lib` from it (an
/// installed prefix). `Err` when the variable names no file.
pub fn find() -> Result<Option<PathBuf>, String> {
    match std::env::var_os(VAR) {
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => {
            let p = PathBuf::from(v);
            match p.is_file() {
                true => Ok(Some(absolute(&p))),
                false => Err(format!("{VAR}={}: no such file", p.display())),
            }
        }
        None => Ok(std::env::current_exe().ok().and_then(|exe| beside(&exe))),
    }
}

fn beside(exe: &Path) -> Option<PathBuf> {
    let dir = exe.parent()?;
    [dir.join(NAME), dir.join("../lib").join(NAME)]
        .into_iter()
        .find(|p| p.is_file())
        .map(|p| absolute(&p))
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// LD_PRELOAD with `preload` first and the user's own after it.
pub fn ld_preload(preload: &Path, user: Option<&str>) -> String {
    match user {
        Some(u) if !u.is_empty() => format!("{}:{u}", preload.display()),
        _ => preload.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_beside_the_binary_or_in_lib() {
        let root = std::env::temp_dir().join(format!("pmem-sweep-preload.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::create_dir_all(root.join("lib")).unwrap();
        let exe = root.join("bin/pmem-sweep");
        assert_eq!(beside(&exe), None);
        std::fs::write(root.join("lib").join(NAME), b"").unwrap();
        assert_eq!(beside(&exe), Some(absolute(&root.join("lib").join(NAME))));
        std::fs::write(root.join("bin").join(NAME), b"").unwrap();
        assert_eq!(beside(&exe), Some(absolute(&root.join("bin").join(NAME))));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_users_preloads_follow() {
        let p = Path::new("/l/libpmem-fit-preload.so");
        assert_eq!(ld_preload(p, None), "/l/libpmem-fit-preload.so");
        assert_eq!(ld_preload(p, Some("")), "/l/libpmem-fit-preload.so");
        assert_eq!(
            ld_preload(p, Some("/x.so")),
            "/l/libpmem-fit-preload.so:/x.so"
        );
    }
}
