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
