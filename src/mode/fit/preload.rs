//! The link to `libpmem-fit-preload.so` (tools/fit-preload), when the
//! program runs with it preloaded: it reports every munmap, mremap and
//! MAP_FIXED mmap before the kernel frees or replaces the range, and the
//! engine forgets its records of the range first, under its write lock (as
//! for pmem_unmap). Then no record can outlive its mapping, which the kernel
//! queries alone cannot prove for adopted mappings (see docs/modes.md).
//! libpmem exports nothing for it: it looks the preload's entry point up.

use super::{Engine, ENGINE};
use core::ffi::{c_int, c_void};
use std::cell::Cell;

thread_local! {
    /// Set while this thread holds the registry's write lock: the engine's
    /// own munmap and mremap calls then pass straight through the preload.
    static WRITING: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread as holding the write lock (or no longer).
pub fn writing(on: bool) {
    WRITING.with(|w| w.set(on));
}

/// The preload's call: -1 on failure, else 0 or the mapping's address.
type Call = unsafe extern "C" fn(ctx: *mut c_void) -> isize;
type Change =
    extern "C" fn(*mut c_void, usize, *mut c_void, usize, c_int, Call, *mut c_void) -> isize;
type Connect = unsafe extern "C" fn(Option<Change>);

/// The preload's entry point, if it is loaded.
fn connect_fn() -> Option<Connect> {
    // SAFETY: dlsym with RTLD_DEFAULT only looks a name up.
    let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"pmem_fit_preload_connect".as_ptr()) };
    // SAFETY: the preload defines the symbol with this signature.
    (!sym.is_null()).then(|| unsafe { core::mem::transmute::<*mut c_void, Connect>(sym) })
}

/// Hands the preload (if loaded) the engine's hook; `false` takes it back
/// (at unload, before this library's code goes away).
pub fn connect(on: bool) {
    if let Some(f) = connect_fn() {
        // SAFETY: the preload stores the pointer; `change` lives as long as
        // this library, and unload takes it back.
        unsafe { f(on.then_some(change as Change)) };
    }
}

/// The preload's hook: `[a1, a1 + l1)` and `[a2, a2 + l2)` (a2 may be
/// null) are about to be unmapped or replaced by `call(ctx)`; `moved`: an
/// mremap of a1 to the address it returns, `l2` long.
extern "C" fn change(
    a1: *mut c_void,
    l1: usize,
    a2: *mut c_void,
    l2: usize,
    moved: c_int,
    call: Call,
    ctx: *mut c_void,
) -> isize {
    // SAFETY: the preload's own function and argument, called once.
    let mut run = || unsafe { call(ctx) };
    if WRITING.with(Cell::get) {
        return run();
    }
    let ranges = [(a1 as usize, l1), (a2 as usize, l2)];
    ENGINE.change(ranges, (moved != 0).then_some(l2), &mut run)
}

impl Engine {
    /// Forgets the ranges (rounded out to pages), then runs `call` with the
    /// write lock held; puts them back if it fails (returns -1). After an
    /// mremap (`moved`: its new length) the first range's spans follow to
    /// the address it returned, as far as the new length reaches.
    fn change(
        &self,
        ranges: [(usize, usize); 2],
        moved: Option<usize>,
        call: &mut dyn FnMut() -> isize,
    ) -> isize {
        if self.live() == 0 {
            return call();
        }
        let page = crate::persist::page_size();
        let mut reg = self.write();
        let mut removed = Vec::new();
        let old = ranges[0].0;
        for (a, l) in ranges.into_iter().filter(|&(a, l)| a != 0 && l > 0) {
            let hi = crate::range::lookup_end(a, l)
                .checked_next_multiple_of(page)
                .unwrap_or(usize::MAX);
            removed.extend(reg.remove(a..hi));
        }
        let r = call();
        if r == -1 {
            for s in removed {
                reg.insert(s.start..s.end(), s.value);
            }
        } else {
            if let Some(new_len) = moved {
                let old_end = old.saturating_add(ranges[0].1);
                for s in removed
                    .iter()
                    .filter(|s| s.start >= old && s.end() <= old_end)
                {
                    let at = s.start - old;
                    let len = s.len.min(new_len.saturating_sub(at));
                    let to = (r as usize).saturating_add(at);
                    if len > 0 {
                        reg.insert(to..to.saturating_add(len), s.value.clone());
                    }
                }
            }
            let files: Vec<super::File> = removed.into_iter().map(|s| s.value.file).collect();
            self.release(&reg, &files);
        }
        self.counted(&reg);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::page_size;

    /// What the preload reports reaches the engine: an mremap moves a span
    /// with its mapping, a failed call keeps it, a munmap forgets it.
    #[test]
    fn changes_move_keep_and_forget_spans() {
        let len = 2 * page_size();
        // SAFETY: plain syscalls on a fresh memfd, a fresh private mapping
        // and a fresh reservation to move it to.
        let (fd, base, to) = unsafe {
            let fd = libc::memfd_create(c"fit-preload".as_ptr(), libc::MFD_CLOEXEC);
            assert!(fd >= 0 && libc::ftruncate(fd, len as libc::off_t) == 0);
            let prot = libc::PROT_READ | libc::PROT_WRITE;
            let p = libc::mmap(core::ptr::null_mut(), len, prot, libc::MAP_PRIVATE, fd, 0);
            let anon = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
            let to = libc::mmap(core::ptr::null_mut(), len, libc::PROT_NONE, anon, -1, 0);
            assert!(p != libc::MAP_FAILED && to != libc::MAP_FAILED);
            (fd, p as usize, to as usize)
        };
        let e = Engine::new();
        e.register(fd, base as *mut u8, len).unwrap();
        let starts = |e: &Engine| e.read().iter().map(|s| s.start).collect::<Vec<_>>();

        assert_eq!(e.change([(base, len), (0, 0)], None, &mut || -1), -1);
        assert_eq!(starts(&e), vec![base], "a failed call keeps the span");

        let flags = libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED;
        // SAFETY: moves the mapping made above onto the reservation.
        let mut mremap = || unsafe {
            let p = libc::mremap(base as *mut c_void, len, len, flags, to as *mut c_void);
            p as isize
        };
        assert_eq!(
            e.change([(base, len), (to, len)], Some(len), &mut mremap),
            to as isize
        );
        assert_eq!(starts(&e), vec![to], "the span moved with its mapping");

        // SAFETY: unmaps the moved mapping, which nothing uses.
        let mut munmap = || unsafe { libc::munmap(to as *mut c_void, len) as isize };
        assert_eq!(e.change([(to, len), (0, 0)], None, &mut munmap), 0);
        assert!(starts(&e).is_empty(), "the span is forgotten");
        // SAFETY: made above, unused now.
        unsafe { libc::close(fd) };
    }
}
