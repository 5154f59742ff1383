//! Making stores durable: flush cache lines (CLWB, CLFLUSHOPT or CLFLUSH as
//! chosen at load), fence, msync.

pub mod mode_hook;

pub use crate::cpu::{describe, Description};
use crate::error::{Error, Result};

pub use crate::arch::CACHELINE;

/// Writes back every cache line that overlaps `[addr, addr + len)`.
///
/// Safe like the skeleton's (and pmem_flush's C contract): the flush
/// instructions never change memory, only an unmapped range faults.
#[inline]
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn flush(addr: *const u8, len: usize) {
    match fast_config() {
        // SAFETY: as in `flush_lines`.
        Some(cfg) => unsafe { crate::arch::flush_range(cfg.flush, addr, len) },
        None => flush_slow(addr, len),
    }
}

/// The load-time choice when no mode hooks are installed and the choice
/// is made: the case the hot paths handle inline. Everything else goes
/// through an out-of-line function, so the entry points keep no
/// registers live across calls and need no stack frame.
#[inline(always)]
fn fast_config() -> Option<&'static crate::cpu::Config> {
    match (mode_hook::current(), crate::cpu::config_if_made()) {
        (None, Some(cfg)) => Some(cfg),
        _ => None,
    }
}

#[inline(never)]
fn flush_slow(addr: *const u8, len: usize) {
    if let Some(h) = mode_hook::current() {
        return (h.flush)(addr, len);
    }
    flush_lines(addr, len);
}

/// The load-time choice of cache-line flush, bypassing the mode hooks: what
/// the modes themselves use for ranges they flush the ordinary way.
#[inline]
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn flush_lines(addr: *const u8, len: usize) {
    // SAFETY: flushing a range the caller owns (the C contract of
    // pmem_flush); the instruction never changes memory contents.
    unsafe { crate::arch::flush_range(crate::cpu::config().flush, addr, len) };
}

/// Waits for earlier flushes and non-temporal stores to complete.
#[inline]
pub fn drain() {
    if let Some(h) = mode_hook::current() {
        return (h.drain)();
    }
    fence();
}

/// SFENCE: orders and completes earlier write-backs and streaming stores.
#[inline(always)]
pub fn fence() {
    crate::arch::fence();
}

#[inline]
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn persist(addr: *const u8, len: usize) {
    match fast_config() {
        Some(cfg) => {
            // SAFETY: as in `flush_lines`.
            unsafe { crate::arch::flush_range(cfg.flush, addr, len) };
            fence();
        }
        None => persist_slow(addr, len),
    }
}

#[inline(never)]
fn persist_slow(addr: *const u8, len: usize) {
    flush_slow(addr, len);
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

/// Flushes even where the platform would not need it (eADR, PMEM_NO_FLUSH=1).
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn deep_flush(addr: *const u8, len: usize) {
    if let Some(h) = mode_hook::current() {
        return (h.flush)(addr, len);
    }
    // SAFETY: as in `flush`.
    unsafe { crate::arch::flush_range(crate::cpu::config().deep_flush, addr, len) };
}
