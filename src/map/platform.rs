//! pmem_deep_drain: the NVDIMM regions' deep_flush files behind the
//! mapped ranges, and msync for the rest.
//!
//! Every reader takes the sysfs root as a [`Sysfs`] so tests can point it
//! at a fake tree; the C entry points use [`Sysfs::system`]. The sysfs
//! facts that need no mapping (eADR, `has_auto_flush`) are in the leaf
//! [`crate::sysfs`], below `persist`, since the CPU configuration reads
//! them.

use super::registry::Backing;
use crate::error::Result;
pub use crate::sysfs::Sysfs;
#[cfg(test)]
use crate::sysfs::{auto_flush_in, has_auto_flush};
use crate::sysfs::{io_error, REGIONS};
use std::io::Read;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    // msync_pages rounds the range to pages with PMDK's arithmetic
    // (crate::range::msync_span).
    let Some(end) = crate::range::end(start, len) else {
        return crate::persist::msync_pages(addr, len);
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
    let (addr, len) = (from as *const u8, to - from);
    match crate::persist::mode_hook::current() {
        Some(h) => (h.deep_drain)(addr, len),
        None => crate::persist::msync_pages(addr, len),
    }
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

#[cfg(test)]
mod tests;
