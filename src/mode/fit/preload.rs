//! The link to `libpmem-fit-preload.so` (tools/fit-preload), when the
//! program runs with it preloaded: it reports every munmap, mremap and
//! MAP_FIXED mmap before the kernel frees or replaces the range, and the
//! engine forgets its records of the range first, under its write lock (as
//! for pmem_unmap). Then no record can outlive its mapping, which the kernel
//! queries alone cannot prove for adopted mappings (see docs/modes.md).
//! libpmem exports nothing for it: it looks the preload's entry point up.
//!
//! While it is connected and interposes every call that can unmap or
//! replace memory (`WATCHED`), a span proved once against the kernel stays
//! proved until a reported change removes it: flushes of it then ask the
//! kernel nothing (docs/modes.md, "Soundness").

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

/// The calls the preload must interpose for the engine to see every change
/// of the program's mappings. An older preload, or one that another
/// library's definitions shadow, leaves the engine asking the kernel at
/// every flush.
const WATCHED: [&core::ffi::CStr; 7] = [
    c"munmap",
    c"mmap",
    c"mmap64",
    c"mremap",
    c"madvise",
    c"remap_file_pages",
    c"shmat",
];

/// The object that defines `sym`, if any.
fn object_of(sym: *const c_void) -> Option<usize> {
    // SAFETY: dladdr only reads the loader's tables into `info`.
    let mut info: libc::Dl_info = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    (!sym.is_null() && unsafe { libc::dladdr(sym, &mut info) } != 0)
        .then_some(info.dli_fbase as usize)
}

/// Whether the program's calls of every watched name reach the preload
/// whose entry point is `connect`.
fn interposes(connect: Connect) -> bool {
    let Some(preload) = object_of(connect as *const c_void) else {
        return false;
    };
    WATCHED.iter().all(|name| {
        // SAFETY: dlsym with RTLD_DEFAULT only looks a name up.
        let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
        object_of(sym) == Some(preload)
    })
}

/// Hands the preload (if loaded) the engine's hook; `false` takes it back
/// (at unload, before this library's code goes away). The engine trusts
/// proved spans only while the preload interposes every watched call.
pub fn connect(on: bool) {
    let Some(f) = connect_fn() else {
        return;
    };
    if !on {
        // Stop trusting marks before the hook goes: no change is missed
        // while a mark stands.
        ENGINE.unwatch(false);
    }
    // SAFETY: the preload stores the pointer; `change` lives as long as
    // this library, and unload takes it back.
    unsafe { f(on.then_some(change as Change)) };
    if on && interposes(f) {
        ENGINE
            .watched
            .store(true, core::sync::atomic::Ordering::Release);
    }
}

/// What the preload reports (its `kind` argument).
const UNMAP: c_int = 0;
const MOVE: c_int = 1;
const DISTRUST: c_int = 2;

/// The preload's hook: `[a1, a1 + l1)` and `[a2, a2 + l2)` (a2 may be
/// null) are about to be unmapped or replaced by `call(ctx)` (`UNMAP`);
/// `MOVE`: an mremap of a1 to the address it returns, `l2` long;
/// `DISTRUST`: a change the engine cannot place (a range left out of
/// forked children, a System V segment of unknown size put over memory).
extern "C" fn change(
    a1: *mut c_void,
    l1: usize,
    a2: *mut c_void,
    l2: usize,
    kind: c_int,
    call: Call,
    ctx: *mut c_void,
) -> isize {
    // SAFETY: the preload's own function and argument, called once.
    let mut run = || unsafe { call(ctx) };
    if WRITING.with(Cell::get) {
        return run();
    }
    match kind {
        UNMAP | MOVE => {
            let ranges = [(a1 as usize, l1), (a2 as usize, l2)];
            ENGINE.change(ranges, (kind == MOVE).then_some(l2), &mut run)
        }
        // E.g. a child would inherit marks of spans it does not map: trust
        // no mark from now on (before the call, so no flush trusts one after).
        DISTRUST => {
            ENGINE.unwatch(true);
            run()
        }
        _ => run(),
    }
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
        // While watching, take the lock even with no span: a flush that
        // records and proves a span meanwhile must not keep a mark this
        // call makes stale.
        if self.live() == 0 && !self.watching() {
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
            // Going for good, still mapped: the missing-flush report's
            // last look (a moved mapping keeps its spans).
            if moved.is_none() {
                super::report::before_unmap(&reg, a, hi, "munmap");
            }
            removed.extend(reg.remove(a..hi));
        }
        let r = call();
        if r == -1 {
            // A failed MAP_FIXED mmap may have unmapped the range all the
            // same: the spans come back unproved, for the kernel to judge.
            for s in removed {
                s.value.proved.set(false);
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

    fn nowhere(_: *const u8, _: usize) -> crate::error::Result<()> {
        Ok(())
    }

    fn marks(e: &Engine) -> Vec<bool> {
        e.read().iter().map(|p| p.value.proved.get()).collect()
    }

    /// While watched, a flush proves its span once and later flushes trust
    /// the mark; a reported change removes the span and its mark, so memory
    /// put in its place is never written to the file; a failed change
    /// brings the span back unproved; a change the engine cannot place ends
    /// the trust for good.
    #[test]
    fn marks_last_until_a_reported_change() {
        let len = 2 * page_size();
        let (fd, base) = super::super::memfd_mapping(c"fit-marks", len, len);
        let e = Engine::new();
        e.watched.store(true, core::sync::atomic::Ordering::Release);
        e.register(fd, base as *mut u8, len).unwrap();
        assert_eq!(marks(&e), vec![false], "a new span starts unproved");
        let flush = |at: usize| e.route(at as *const u8, 64, crate::persist::CACHELINE, nowhere);
        // SAFETY: the mapping registered above.
        unsafe { core::ptr::write_bytes(base as *mut u8, 0x11, 64) };
        flush(base).unwrap();
        assert_eq!(marks(&e), vec![true], "the flush proved the whole span");

        assert_eq!(e.change([(base, len), (0, 0)], None, &mut || -1), -1);
        assert_eq!(marks(&e), vec![false], "a failed change may have unmapped");
        flush(base).unwrap();
        assert_eq!(marks(&e), vec![true]);

        // The program replaces the pool with anonymous memory full of Z,
        // through a call the preload reports.
        // SAFETY: replaces the mapping made above, which nothing else uses.
        let mut replace = || unsafe {
            let anon = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED;
            let prot = libc::PROT_READ | libc::PROT_WRITE;
            let p = libc::mmap(base as *mut c_void, len, prot, anon, -1, 0);
            if p != libc::MAP_FAILED {
                core::ptr::write_bytes(p.cast::<u8>(), b'Z', len);
            }
            p as isize
        };
        assert_eq!(
            e.change([(base, len), (0, 0)], None, &mut replace),
            base as isize
        );
        assert!(marks(&e).is_empty(), "the span went with the change");
        flush(base).unwrap();
        let mut head = [0u8; 64];
        // SAFETY: `head` is writable for 64 bytes.
        let got = unsafe { libc::pread(fd, head.as_mut_ptr().cast(), 64, 0) };
        assert_eq!(got, 64);
        assert_eq!(
            head, [0x11; 64],
            "nothing of the new memory reached the file"
        );

        // A fresh span, proved, then a DISTRUST report: marks are dropped
        // and never set again.
        let (fd2, base2) = super::super::memfd_mapping(c"fit-marks2", len, len);
        e.register(fd2, base2 as *mut u8, len).unwrap();
        flush(base2).unwrap();
        assert_eq!(marks(&e), vec![true]);
        e.unwatch(true);
        assert_eq!(marks(&e), vec![false]);
        flush(base2).unwrap();
        assert_eq!(marks(&e), vec![false], "no mark after DISTRUST");
        // SAFETY: made above, unused now.
        unsafe {
            libc::munmap(base as *mut c_void, len);
            libc::munmap(base2 as *mut c_void, len);
            libc::close(fd);
            libc::close(fd2);
        }
    }
}
