//! 64-bit POWER: `dcbstps` (`dcbf` with L=6: store the line back to
//! persistent storage) for every line, and `phwsync` (`sync` with L=4) as the
//! fence, as PMDK chooses. Both are POWER10 (ISA 3.1) forms that older
//! processors execute as the plain `dcbf`/`sync` they extend, so one choice
//! serves every CPU.
//!
//! Both are emitted as instruction words (`.long`), as PMDK does, so no
//! assembler needs to know the ISA 3.1 mnemonics; the flushed address is
//! therefore pinned to r9, which the word names.
//!
//! Copies are the portable ones (plain stores, then the write-back loop).

use super::generic;
pub use super::generic::CopyIsa;
use super::{flush_lines, Flusher, NoFlush, Routines, Switch};
use crate::policy::{Policy, Vendor};
use core::ffi::CStr;

/// Nothing to detect: the instructions run on every 64-bit POWER CPU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {}

pub fn detect() -> Features {
    Features {}
}

/// The instruction that writes a cache line back, or none at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushKind {
    None = 0,
    Dcbstps = 1,
}

impl FlushKind {
    pub const COUNT: usize = 2;
    pub const ALL: [FlushKind; FlushKind::COUNT] = [FlushKind::None, FlushKind::Dcbstps];

    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("?")
    }

    /// The name as a C string (pmem_get_attr hands it to C).
    pub fn c_name(self) -> &'static CStr {
        match self {
            FlushKind::None => c"none",
            FlushKind::Dcbstps => c"dcbstps",
        }
    }

    pub fn supported(self, _: &Features) -> bool {
        true
    }
}

/// `dcbf 0, r9, 6`: X-form, primary opcode 31, extended opcode 86, L in
/// bits 8-10, RA = 0 (no base), RB = r9. (The asm spells the word out: an
/// asm `const` operand needs a newer Rust than the crate's rust-version;
/// the test below checks the spelling.)
#[cfg(test)]
const DCBSTPS_R9: u32 = 0x7c00_00ac | (6 << 21) | (9 << 11);

/// `sync 4`: X-form, primary opcode 31, extended opcode 598, L in bits 8-10.
#[cfg(test)]
const PHWSYNC: u32 = 0x7c00_04ac | (4 << 21);

pub struct Dcbstps;

impl Flusher for Dcbstps {
    const KIND: FlushKind = FlushKind::Dcbstps;

    #[inline(always)]
    unsafe fn line(p: *const u8) {
        // SAFETY: `p` is mapped (the caller's contract); the instruction
        // only writes the line back. No `nomem`: it must not move across
        // stores.
        unsafe {
            core::arch::asm!(".long 0x7cc048ac", in("r9") p, options(nostack, preserves_flags))
        };
    }
}

/// # Safety
/// The range is mapped.
#[inline]
pub unsafe fn flush_range(kind: FlushKind, addr: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe {
        match kind {
            FlushKind::None => {}
            FlushKind::Dcbstps => flush_lines::<Dcbstps>(addr, len),
        }
    }
}

/// `phwsync`: the earlier write-backs are complete.
#[inline(always)]
pub fn fence() {
    // SAFETY: a barrier has no preconditions.
    unsafe { core::arch::asm!(".long 0x7c8004ac", options(nostack, preserves_flags)) };
}

/// The one write-back instruction. (PMDK has no switch for it.)
pub fn best_flush(_: &Features, _: Switch) -> FlushKind {
    FlushKind::Dcbstps
}

pub fn best_isa(_: &Features, _: Switch, _: &Policy) -> CopyIsa {
    CopyIsa::Generic
}

/// No policy table entries: PMDK's choices (which only matter for
/// streaming stores, and the portable copies have none).
pub fn policy_key(_: &Features) -> (Vendor, u32) {
    (Vendor::Other, 0)
}

/// The portable copies have no streaming stores.
pub const STREAMING_STORES: bool = false;

/// The write-backs are not complete until `phwsync`: drain always fences.
pub fn fence_required(_: FlushKind, _movnt: bool) -> bool {
    true
}

/// An aligned doubleword store is single-copy atomic (and the copies write
/// aligned words whole).
pub const ATOMIC_STORE: usize = 8;

static ROUTINES: [Routines; FlushKind::COUNT] = [
    generic::routines::<NoFlush>(),
    generic::routines::<Dcbstps>(),
];

#[inline]
pub fn routines(_: CopyIsa, flush: FlushKind) -> &'static Routines {
    &ROUTINES[flush as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruction_words() {
        // As the kernel's PPC_RAW_PHWSYNC and PPC_RAW_DCBF(0, 9, 6) spell them.
        assert_eq!(PHWSYNC, 0x7c80_04ac);
        assert_eq!(DCBSTPS_R9, 0x7cc0_48ac);
    }

    #[test]
    fn flushes_and_fences() {
        let v = [7u8; 300];
        // SAFETY: `v` is mapped.
        unsafe { flush_range(FlushKind::Dcbstps, v.as_ptr().add(3), 290) };
        fence();
        assert_eq!(v[299], 7);
    }
}
