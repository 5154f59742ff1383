//! Where the bytes of a copy come from: memory (memmove) or one byte
//! (memset). The copy routines of every architecture are generic over
//! [`Source`], so memset runs the same code as memmove with the fill byte
//! held in registers, reading no memory at all.

use super::{Routines, Stores};

/// Where the bytes of a copy come from.
pub trait Source: Copy {
    /// The source address, or None for a fill (which overlaps nothing).
    fn addr(self) -> Option<usize>;

    /// The source of the byte `off` bytes on.
    ///
    /// # Safety
    /// `off` lies inside the source range.
    unsafe fn at(self, off: usize) -> Self;

    /// The `size_of::<T>()` (at most 16) source bytes from here.
    ///
    /// # Safety
    /// The source is readable for `size_of::<T>()` bytes.
    unsafe fn load<T: Copy>(self) -> T;

    /// Runs the routine of `r` for this kind of source: `len` bytes to `dst`.
    ///
    /// # Safety
    /// As [`Routines::memmove`] (for memory) or [`Routines::memset`].
    unsafe fn copy_with(self, r: &Routines, dst: *mut u8, len: usize, st: Stores);
}

/// memmove's source: memory.
#[derive(Clone, Copy)]
pub struct Mem(pub *const u8);

impl Source for Mem {
    #[inline(always)]
    fn addr(self) -> Option<usize> {
        Some(self.0 as usize)
    }

    #[inline(always)]
    unsafe fn at(self, off: usize) -> Mem {
        // SAFETY: `off` lies inside the source range (the caller's contract).
        Mem(unsafe { self.0.add(off) })
    }

    #[inline(always)]
    unsafe fn load<T: Copy>(self) -> T {
        // SAFETY: readable for size_of::<T>() bytes (the caller's contract);
        // read_unaligned needs no alignment.
        unsafe { self.0.cast::<T>().read_unaligned() }
    }

    #[inline(always)]
    unsafe fn copy_with(self, r: &Routines, dst: *mut u8, len: usize, st: Stores) {
        // SAFETY: the ranges and the instruction set are as memmove needs
        // (the caller's contract).
        unsafe { (r.memmove)(dst, self.0, len, st) }
    }
}

/// memset's source: the fill byte in each byte of a word.
#[derive(Clone, Copy)]
pub struct Fill(pub u64);

impl Fill {
    #[inline(always)]
    pub fn new(c: u8) -> Fill {
        Fill(u64::from(c) * 0x0101_0101_0101_0101)
    }
}

impl Source for Fill {
    #[inline(always)]
    fn addr(self) -> Option<usize> {
        None
    }

    #[inline(always)]
    unsafe fn at(self, _: usize) -> Fill {
        self
    }

    #[inline(always)]
    unsafe fn load<T: Copy>(self) -> T {
        const { assert!(core::mem::size_of::<T>() <= 16) };
        let words = [self.0; 2];
        // SAFETY: T fits in the 16 bytes of `words` (checked above); every
        // byte of them is the fill byte.
        unsafe { words.as_ptr().cast::<T>().read_unaligned() }
    }

    #[inline(always)]
    unsafe fn copy_with(self, r: &Routines, dst: *mut u8, len: usize, st: Stores) {
        // SAFETY: `dst` and the instruction set are as memset needs (the
        // caller's contract). Every byte of the word is the fill byte.
        unsafe { (r.memset)(dst, self.0 as u8, len, st) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_loads_the_byte_at_every_width() {
        let f = Fill::new(0xa5);
        // SAFETY: a fill reads no memory.
        unsafe {
            assert_eq!(f.load::<u8>(), 0xa5);
            assert_eq!(f.at(3).load::<u32>(), 0xa5a5_a5a5);
            assert_eq!(f.load::<[u8; 16]>(), [0xa5; 16]);
        }
        assert_eq!(f.addr(), None);
    }

    #[test]
    fn mem_loads_unaligned() {
        let v: Vec<u8> = (0..32).collect();
        let m = Mem(v.as_ptr());
        // SAFETY: offsets and widths stay inside `v`.
        unsafe {
            assert_eq!(m.at(1).load::<[u8; 4]>(), [1, 2, 3, 4]);
            assert_eq!(m.at(31).load::<u8>(), 31);
        }
        assert_eq!(m.addr(), Some(v.as_ptr() as usize));
    }
}
