//! Cache-line flushing that bypasses the mode hooks, for the modes that
//! flush some ranges the ordinary way (auto, and fit outside fit mappings).
//!
//! `persist::flush` cannot be called from a hook: it would call the hook
//! again. Until the fast path exposes its hook-free flush, this picks the
//! best instruction once, from `crate::cpu::detect()`.

use crate::persist::CACHELINE;
use std::sync::OnceLock;

/// The flush instructions, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instruction {
    Clwb,
    Clflushopt,
    Clflush,
}

impl Instruction {
    pub fn c_name(self) -> &'static core::ffi::CStr {
        match self {
            Instruction::Clwb => c"clwb",
            Instruction::Clflushopt => c"clflushopt",
            Instruction::Clflush => c"clflush",
        }
    }
}

/// The instruction this CPU offers, detected once.
pub fn instruction() -> Instruction {
    static CHOSEN: OnceLock<Instruction> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let f = crate::cpu::detect();
        if f.clwb {
            Instruction::Clwb
        } else if f.clflushopt {
            Instruction::Clflushopt
        } else {
            Instruction::Clflush
        }
    })
}

/// Calls `each` on the start of every cache line overlapping `[addr, addr + len)`.
#[inline(always)]
fn for_each_line(addr: *const u8, len: usize, each: impl Fn(*const u8)) {
    let end = (addr as usize).saturating_add(len);
    let mut line = addr as usize & !(CACHELINE - 1);
    while line < end {
        each(line as *const u8);
        line += CACHELINE;
    }
}

/// Writes back every cache line overlapping `[addr, addr + len)`.
pub fn flush(addr: *const u8, len: usize) {
    match instruction() {
        // SAFETY (all three): the CPU offers the instruction (detected
        // above); flushing a mapped line has no other effect, and callers
        // pass ranges of their own memory (the C contract of pmem_flush).
        Instruction::Clwb => for_each_line(addr, len, |p| unsafe {
            core::arch::asm!("clwb [{}]", in(reg) p, options(nostack, preserves_flags))
        }),
        Instruction::Clflushopt => for_each_line(addr, len, |p| unsafe {
            core::arch::asm!("clflushopt [{}]", in(reg) p, options(nostack, preserves_flags))
        }),
        Instruction::Clflush => {
            for_each_line(addr, len, |p| unsafe { core::arch::x86_64::_mm_clflush(p) })
        }
    }
}

/// Orders earlier flushes before later stores (what a drain is on x86_64).
pub fn fence() {
    // SAFETY: SFENCE has no preconditions.
    unsafe { core::arch::x86_64::_mm_sfence() };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_every_overlapping_line_once() {
        let cases = [
            (0usize, 0usize, 0usize),
            (0, 1, 1),
            (63, 2, 2),
            (64, 64, 1),
            (10, 200, 4),
        ];
        for (off, len, want) in cases {
            let base = 0x1000usize;
            let n = core::cell::Cell::new(0);
            for_each_line((base + off) as *const u8, len, |p| {
                assert_eq!(p as usize % CACHELINE, 0);
                n.set(n.get() + 1);
            });
            assert_eq!(n.get(), want, "offset {off} len {len}");
        }
    }

    #[test]
    fn flush_of_own_memory_works() {
        let v = vec![7u8; 300];
        flush(v.as_ptr(), v.len());
        fence();
        assert!(
            instruction()
                .c_name()
                .to_str()
                .unwrap()
                .starts_with("clflush")
                || instruction() == Instruction::Clwb
        );
    }
}
