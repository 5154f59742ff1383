//! The directory a sweep works in. pmem-sweep makes a directory of its own
//! (inside --workdir DIR, or $TMPDIR), marks it, and at the end removes that
//! directory only, and only if the mark is still there: nothing the user
//! had in DIR is ever touched.

use std::path::{Path, PathBuf};

/// The name of the mark file.
const MARK: &str = ".made-by-pmem-sweep";

pub struct Workdir {
    /// Ours: made by this sweep, holding the job directories.
    pub root: PathBuf,
    /// The --workdir directory, if this sweep had to make it.
    made_parent: Option<PathBuf>,
}

impl Workdir {
    /// Makes a fresh marked directory in `parent` (made if missing), with an
    /// absolute path: the programs run in job directories, not here.
    pub fn make(parent: Option<PathBuf>) -> Result<Workdir, String> {
        let parent = parent.unwrap_or_else(std::env::temp_dir);
        let parent = std::path::absolute(&parent)
            .map_err(|e| format!("--workdir {}: {e}", parent.display()))?;
        let made_parent = (!parent.exists()).then(|| parent.clone());
        std::fs::create_dir_all(&parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        let pid = std::process::id();
        for attempt in 0u32.. {
            let root = parent.join(format!("pmem-sweep.{pid}.{attempt}"));
            match std::fs::create_dir(&root) {
                Ok(()) => {
                    let mark = format!("made by pmem-sweep (pid {pid}); removed at its end\n");
                    std::fs::write(root.join(MARK), mark)
                        .map_err(|e| format!("{}: {e}", root.display()))?;
                    return Ok(Workdir { root, made_parent });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 1000 => {}
                Err(e) => return Err(format!("{}: {e}", root.display())),
            }
        }
        unreachable!("the loop returns")
    }

    /// Removes our directory (if still marked) and the --workdir directory
    /// if this sweep made it and it is now empty.
    pub fn remove(self) {
        if is_ours(&self.root) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
        if let Some(p) = self.made_parent {
            let _ = std::fs::remove_dir(p); // fails unless empty
        }
    }
}

fn is_ours(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) && dir.join(MARK).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_only_its_own_directory() {
        let dir = std::env::temp_dir().join(format!("pmem-sweep-wd-test.{}", std::process::id()));
        let user = dir.join("w");
        std::fs::create_dir_all(user.join("job-scheduler")).unwrap();
        std::fs::write(user.join("counter.c"), "int main(){}").unwrap();
        std::fs::write(user.join("count"), "1").unwrap();
        let w = Workdir::make(Some(user.clone())).unwrap();
        assert!(w.root.is_absolute() && w.root.starts_with(&user));
        std::fs::create_dir_all(w.root.join("job-0")).unwrap();
        let root = w.root.clone();
        w.remove();
        assert!(!root.exists());
        for kept in ["job-scheduler", "counter.c", "count"] {
            assert!(user.join(kept).exists(), "{kept} was removed");
        }
        // A directory it made for --workdir goes when empty.
        let fresh = dir.join("fresh");
        Workdir::make(Some(fresh.clone())).unwrap().remove();
        assert!(!fresh.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
