//! CPU features, read once.
//! (Skeleton: the fast-persistence work replaces this with full detection
//! and PMEM_* overrides.)

#[derive(Debug, Clone, Copy, Default)]
pub struct Features {
    pub clflushopt: bool,
    pub clwb: bool,
}

pub fn detect() -> Features {
    let l7 = core::arch::x86_64::__cpuid_count(7, 0);
    Features {
        clflushopt: l7.ebx & (1 << 23) != 0,
        clwb: l7.ebx & (1 << 24) != 0,
    }
}
