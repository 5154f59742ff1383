//! The seam between the fast path and the persistence modes other than the
//! default `flush` mode (`msync`, `fit`, `auto`; see `crate::mode`).
//!
//! In `flush` mode no hooks are installed and the hot path pays one atomic
//! load (Acquire, a plain load on x86 and a load-acquire on aarch64) and a
//! predictable branch. When a mode is active, every flush,
//! drain and msync in the library (pmem_persist, pmem_flush, the pmem_mem*
//! family, the deep calls) goes through its hooks instead, and the mapping
//! code asks it whether files must be mapped private (fit mode).

use crate::error::Result;
use core::sync::atomic::{AtomicPtr, Ordering};

/// The mapping code's munmap(2) of the range, for [`ModeHooks::unmap`] to call.
pub type Munmap<'a> = &'a mut dyn FnMut() -> Result<()>;

/// What a persistence mode does in place of cache-line flushing.
pub struct ModeHooks {
    /// The mode's name, as `PMEM_PERSIST_MODE` spells it.
    pub name: &'static str,
    /// Makes `[addr, addr + len)` durable (or records it as flushed).
    /// Unsafe to call, with [`crate::persist::flush`]'s contract: the range
    /// is mapped and does not wrap (a safe `fn` coerces to it).
    pub flush: unsafe fn(addr: *const u8, len: usize),
    /// Completes earlier flushes.
    pub drain: fn(),
    /// pmem_msync's work in this mode.
    pub msync: fn(addr: *const u8, len: usize) -> Result<()>,
    /// Fit mode: map files MAP_PRIVATE and report each mapping.
    pub private_mappings: bool,
    /// Called by the mapping code after it maps `fd` at `addr` (file offset 0).
    pub on_map: fn(fd: i32, addr: *mut u8, len: usize) -> Result<()>,
    /// Unmaps `[addr, addr + len)` for the mapping code by calling
    /// `munmap`: the mode forgets its records of the range first, and
    /// keeps them from changing until `munmap` returns, so the addresses
    /// the kernel frees are never mistaken for a new mapping placed there.
    pub unmap: fn(addr: *mut u8, len: usize, munmap: Munmap) -> Result<()>,
    /// pmem_deep_drain of a range no DAX region backs: what msync(2) is in
    /// the other modes.
    pub deep_drain: fn(addr: *const u8, len: usize) -> Result<()>,
}

static HOOKS: AtomicPtr<ModeHooks> = AtomicPtr::new(core::ptr::null_mut());

/// Installs `hooks` (None: back to plain cache-line flushing).
pub fn install(hooks: Option<&'static ModeHooks>) {
    let p = hooks.map_or(core::ptr::null_mut(), |h| {
        h as *const ModeHooks as *mut ModeHooks
    });
    HOOKS.store(p, Ordering::Release);
}

/// The active mode's hooks, if a mode other than `flush` is on.
#[inline(always)]
pub fn current() -> Option<&'static ModeHooks> {
    let p = HOOKS.load(Ordering::Acquire);
    // SAFETY: HOOKS only ever holds null or a pointer from a &'static.
    unsafe { p.as_ref() }
}
