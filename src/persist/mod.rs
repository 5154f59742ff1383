//! Making stores durable: flush cache lines (CLWB, CLFLUSHOPT or CLFLUSH as
//! chosen at load), fence, msync.
//!
//! The functions that take a range are `unsafe`: they flush whatever the
//! caller names, and a flush of an unmapped line faults. Their ranges never
//! wrap past the end of the address space: the C entry points reject such
//! ranges first ([`crate::range`]).

pub mod mode_hook;

pub use crate::cpu::{instruction_choice, InstructionChoice};
use crate::error::{Error, Result};

pub use crate::arch::CACHELINE;

/// Writes back every cache line that overlaps `[addr, addr + len)` (or
/// does what the active persistence mode does instead).
///
/// # Safety
/// `addr + len` does not pass the end of the address space, and every
/// byte of the range is mapped (pmem_flush's C contract). The flush
/// instructions never change memory; an unmapped line faults.
#[inline]
pub unsafe fn flush(addr: *const u8, len: usize) {
    match fast_config() {
        // SAFETY: the range is mapped and does not wrap (our contract), and
        // `cfg.flush` was chosen at load among what this CPU supports.
        Some(cfg) => unsafe { crate::arch::flush_range(cfg.flush, addr, len) },
        // SAFETY: our contract is flush_slow's.
        None => unsafe { flush_slow(addr, len) },
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

/// # Safety
/// As [`flush`].
#[inline(never)]
unsafe fn flush_slow(addr: *const u8, len: usize) {
    if let Some(h) = mode_hook::current() {
        // SAFETY: our contract is the hook's (`ModeHooks::flush`).
        return unsafe { (h.flush)(addr, len) };
    }
    // SAFETY: our contract is flush_lines's.
    unsafe { flush_lines(addr, len) };
}

/// The load-time choice of cache-line flush, bypassing the mode hooks: what
/// the modes themselves use for ranges they flush the ordinary way.
///
/// # Safety
/// As [`flush`]: the range is mapped and does not wrap.
#[inline]
pub unsafe fn flush_lines(addr: *const u8, len: usize) {
    // SAFETY: the range is mapped and does not wrap (our contract), and the
    // load-time flush instruction is one this CPU supports.
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

/// [`flush`], then [`drain`]: the stores in the range are durable.
///
/// # Safety
/// As [`flush`].
#[inline]
pub unsafe fn persist(addr: *const u8, len: usize) {
    match fast_config() {
        Some(cfg) => {
            // SAFETY: as in `flush`: our contract, and a supported
            // instruction chosen at load.
            unsafe { crate::arch::flush_range(cfg.flush, addr, len) };
            fence();
        }
        // SAFETY: our contract is persist_slow's.
        None => unsafe { persist_slow(addr, len) },
    }
}

/// # Safety
/// As [`flush`].
#[inline(never)]
unsafe fn persist_slow(addr: *const u8, len: usize) {
    // SAFETY: our contract is flush_slow's.
    unsafe { flush_slow(addr, len) };
    drain();
}

/// msync(2) over the pages that hold `[addr, addr + len)` (or what the
/// active persistence mode does instead). Safe: msync(2) checks the range
/// itself and reports an unmapped one as ENOMEM.
pub fn msync(addr: *const u8, len: usize) -> Result<()> {
    if let Some(h) = mode_hook::current() {
        return (h.msync)(addr, len);
    }
    msync_pages(addr, len)
}

/// msync(2) itself, whatever the mode (the msync and fit modes use it).
/// A range past the end of the address space is handed to msync with
/// PMDK's wrapped length ([`crate::range::msync_span`]), so the result is
/// PMDK's.
pub fn msync_pages(addr: *const u8, len: usize) -> Result<()> {
    let (start, len) = crate::range::msync_span(addr as usize, len, page_size());
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
///
/// # Safety
/// As [`flush`].
pub unsafe fn deep_flush(addr: *const u8, len: usize) {
    if let Some(h) = mode_hook::current() {
        // SAFETY: our contract is the hook's (`ModeHooks::flush`).
        return unsafe { (h.flush)(addr, len) };
    }
    // SAFETY: the range is mapped and does not wrap (our contract);
    // `deep_flush` is the CPU's own best instruction, chosen at load.
    unsafe { crate::arch::flush_range(crate::cpu::config().deep_flush, addr, len) };
}
