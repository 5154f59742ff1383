//! pmem_memmove / pmem_memcpy / pmem_memset.
//! (Skeleton: plain copy then flush; the fast-persistence work adds the SIMD paths.)

use crate::persist;

use crate::ffi::consts::{PMEM_F_MEM_NODRAIN, PMEM_F_MEM_NOFLUSH};

/// # Safety
/// `dst` must be writable and `src` readable for `len` bytes; they may overlap.
pub unsafe fn memmove(dst: *mut u8, src: *const u8, len: usize, flags: u32) {
    // SAFETY: the caller's contract.
    unsafe { core::ptr::copy(src, dst, len) };
    finish(dst, len, flags);
}

/// # Safety
/// `dst` must be writable for `len` bytes.
pub unsafe fn memset(dst: *mut u8, c: u8, len: usize, flags: u32) {
    // SAFETY: the caller's contract.
    unsafe { core::ptr::write_bytes(dst, c, len) };
    finish(dst, len, flags);
}

fn finish(dst: *const u8, len: usize, flags: u32) {
    if flags & PMEM_F_MEM_NOFLUSH == 0 {
        persist::flush(dst, len);
    }
    if flags & PMEM_F_MEM_NODRAIN == 0 {
        persist::drain();
    }
}
