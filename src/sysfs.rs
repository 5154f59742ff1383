//! Platform facts from sysfs that need no mapping: the [`Sysfs`] tree
//! readers and whether the CPU caches are in the persistence domain
//! (eADR), which the CPU configuration ([`crate::cpu`]) reads at load.
//!
//! A leaf: it imports nothing of the crate but `error`, so the load-time
//! configuration can ask it without reaching into `map` or `persist`.

use crate::error::{Error, Result};
use std::io;
use std::path::{Path, PathBuf};

/// A sysfs tree: `/sys`, or a fake one in tests.
#[derive(Debug, Clone)]
pub struct Sysfs {
    root: PathBuf,
}

impl Sysfs {
    pub fn system() -> Sysfs {
        Sysfs::at("/sys")
    }

    pub fn at(root: impl Into<PathBuf>) -> Sysfs {
        Sysfs { root: root.into() }
    }

    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root.join(rel)
    }

    /// The first line of a sysfs attribute, without its newline.
    pub fn read_attr(&self, rel: impl AsRef<Path>) -> io::Result<String> {
        let text = std::fs::read_to_string(self.path(rel))?;
        Ok(text.lines().next().unwrap_or("").to_owned())
    }

    /// The directory of device `major:minor` of `kind` ("char" or "block").
    pub fn dev_dir(&self, kind: &str, dev: u64) -> PathBuf {
        self.path(format!(
            "dev/{kind}/{}:{}",
            libc::major(dev),
            libc::minor(dev)
        ))
    }
}

pub const REGIONS: &str = "bus/nd/devices";

/// pmem_has_auto_flush on the real machine.
pub fn has_auto_flush() -> Result<bool> {
    auto_flush_in(&Sysfs::system())
}

/// True when there is at least one NVDIMM region and every one reports
/// `cpu_cache` as its persistence domain. A region that reports anything
/// else settles the answer (false) even if another cannot be read; a
/// region whose domain cannot be read otherwise makes the answer unknown.
pub fn auto_flush_in(sys: &Sysfs) -> Result<bool> {
    let dir = sys.path(REGIONS);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        // No NVDIMM bus at all: nothing flushes automatically.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_error(e, format!("reading {}", dir.display()))),
    };
    let mut regions = 0usize;
    let mut unknown = None;
    for entry in entries {
        let entry = entry.map_err(|e| io_error(e, format!("reading {}", dir.display())))?;
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with("region") {
            continue;
        }
        regions += 1;
        let rel = Path::new(REGIONS).join(&name).join("persistence_domain");
        match sys.read_attr(&rel) {
            Ok(domain) if domain.trim() == "cpu_cache" => {}
            Ok(_) => return Ok(false),
            // A kernel that does not report the domain promises nothing.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => unknown = Some(io_error(e, format!("reading {}", rel.display()))),
        }
    }
    match unknown {
        Some(e) => Err(e),
        None => Ok(regions > 0),
    }
}

/// An I/O failure as an [`Error`], with its errno (EIO if it has none).
pub fn io_error(e: io::Error, what: String) -> Error {
    Error::new(e.raw_os_error().unwrap_or(libc::EIO), what)
}
