//! What the platform says about persistence, from sysfs: whether the CPU
//! caches are in the persistence domain (eADR), and the NVDIMM regions'
//! deep_flush files behind pmem_deep_drain.
//!
//! Every reader takes the sysfs root as a [`Sysfs`] so tests can point it
//! at a fake tree; the C entry points use [`Sysfs::system`].

use super::registry::Backing;
use crate::error::{Error, Result};
use std::io::{self, Read, Write};
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

const REGIONS: &str = "bus/nd/devices";

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

/// pmem_deep_drain: DAX parts of the range go through their region's
/// deep_flush; everything else through msync (in the active persistence
/// mode), piece by piece as PMDK does.
pub fn deep_drain(addr: *const u8, len: usize) -> Result<()> {
    deep_drain_in(&Sysfs::system(), addr, len)
}

pub fn deep_drain_in(sys: &Sysfs, addr: *const u8, len: usize) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    let start = addr as usize;
    // A range past the end of the address space matches no mapping: PMDK
    // hands it to msync(2) whole, which returns 0 when the page-rounded
    // length wraps to 0 (len SIZE_MAX) and ENOMEM otherwise. Same here.
    let Some(end) = start.checked_add(len) else {
        let page_start = start & !(crate::persist::page_size() - 1);
        let wrapped = len.wrapping_add(start - page_start);
        return crate::persist::msync_pages(page_start as *const u8, wrapped);
    };
    let mut at = start;
    for entry in super::overlapping(start..end) {
        if entry.start > at {
            msync_piece(at, entry.start.min(end))?;
        }
        let piece_end = entry.end().min(end);
        let from = at.max(entry.start);
        match deep_flush_file(sys, entry.value) {
            Some(file) => write_deep_flush(&file)?,
            None => msync_piece(from, piece_end)?,
        }
        at = piece_end;
    }
    if at < end {
        msync_piece(at, end)?;
    }
    Ok(())
}

fn msync_piece(from: usize, to: usize) -> Result<()> {
    // A deep drain flushes no cache line: fit mappings get no write at all.
    crate::mode::fit::deep_drain(from as *const u8, to - from, crate::persist::msync)
}

/// The deep_flush attribute of the region that holds a DAX mapping, found
/// by walking up the device's sysfs path to its `regionN` ancestor.
pub fn deep_flush_file(sys: &Sysfs, backing: Backing) -> Option<PathBuf> {
    let dev_dir = match backing {
        Backing::DevDax { rdev } => sys.dev_dir("char", rdev),
        Backing::MapSync { dev } => sys.dev_dir("block", dev),
        Backing::PageCache => return None,
    };
    let real = std::fs::canonicalize(dev_dir).ok()?;
    let region = real.ancestors().find_map(|p| {
        let name = p.file_name()?.to_str()?;
        let n = name.strip_prefix("region")?;
        (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then(|| name.to_owned())
    })?;
    Some(sys.path(REGIONS).join(region).join("deep_flush"))
}

/// Asks the region to flush its memory controller queues. A region without
/// a deep_flush file, or one that reads "0" (nothing to flush), needs no
/// write; a failed write is reported (PMDK ignores it), since the caller
/// relies on the data being durable.
pub fn write_deep_flush(file: &Path) -> Result<()> {
    let mut current = [0u8; 2];
    match std::fs::File::open(file).and_then(|mut f| f.read(&mut current)) {
        Err(_) => return Ok(()),
        Ok(2) if &current == b"0\n" => return Ok(()),
        Ok(_) => {}
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .and_then(|mut f| f.write_all(b"1"))
        .map_err(|e| io_error(e, format!("deep flush {}", file.display())))
}

fn io_error(e: io::Error, what: String) -> Error {
    Error::new(e.raw_os_error().unwrap_or(libc::EIO), what)
}

#[cfg(test)]
mod tests;
