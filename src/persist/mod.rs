//! Making stores durable: flush cache lines, fence, msync.
//! (Skeleton: CLFLUSH only; the fast-persistence work adds CLWB/CLFLUSHOPT dispatch.)

pub mod mode_hook;

use crate::error::{Error, Result};

pub const CACHELINE: usize = 64;

/// Writes back every cache line that overlaps `[addr, addr + len)`.
pub fn flush(addr: *const u8, len: usize) {
    if let Some(h) = mode_hook::current() {
        return (h.flush)(addr, len);
    }
    let start = addr as usize & !(CACHELINE - 1);
    let end = (addr as usize).saturating_add(len);
    let mut line = start;
    while line < end {
        // SAFETY: CLFLUSH of any address that is mapped is harmless; callers
        // pass ranges they own (the C contract of pmem_flush).
        unsafe { core::arch::x86_64::_mm_clflush(line as *const u8) };
        line += CACHELINE;
    }
}

/// Waits for earlier flushes and non-temporal stores to complete.
pub fn drain() {
    if let Some(h) = mode_hook::current() {
        return (h.drain)();
    }
    // SAFETY: SFENCE has no preconditions.
    unsafe { core::arch::x86_64::_mm_sfence() };
}

pub fn persist(addr: *const u8, len: usize) {
    flush(addr, len);
    drain();
}

/// msync(2) over the pages that hold `[addr, addr + len)`.
pub fn msync(addr: *const u8, len: usize) -> Result<()> {
    if let Some(h) = mode_hook::current() {
        return (h.msync)(addr, len);
    }
    msync_pages(addr, len)
}

/// msync(2) itself, whatever the mode (the msync and fit modes use it).
pub fn msync_pages(addr: *const u8, len: usize) -> Result<()> {
    let page = page_size();
    let start = addr as usize & !(page - 1);
    let len = len + (addr as usize - start);
    // SAFETY: msync only validates and writes back; a bad range gives ENOMEM.
    if unsafe { libc::msync(start as *mut libc::c_void, len, libc::MS_SYNC) } != 0 {
        return Err(Error::last_os("msync"));
    }
    Ok(())
}

pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// Flushes even where the platform would not need it (eADR).
pub fn deep_flush(addr: *const u8, len: usize) {
    flush(addr, len);
}
