//! A `PmemFile` on an ordinary file reaches the file through msync(2), one
//! synchronous msync per durable operation, over the pages written; on
//! persistent memory (`PMEM_IS_PMEM_FORCE=1`) it flushes cache lines and
//! never msyncs.
//!
//! msync calls are counted by an LD_PRELOAD shim that this test compiles
//! with `cc`. Each test runs itself again in a fresh process per case (under
//! the shim, or in fit mode), since the library reads its environment once
//! per process.

mod common;
use common::TempDir;

use pmem::api::{MemFlags, PmemFile};
use std::path::{Path, PathBuf};
use std::process::Command;

const TEST_NAME: &str = "persists_through_msync_unless_pmem";
/// Set in the child: "msync" or "flush", the path it must take.
const CHILD_ENV: &str = "PMEM_API_MSYNC_CHILD";
const DIR_ENV: &str = "PMEM_API_MSYNC_DIR";

/// Counts msync calls and remembers the last one's range and flags.
const SHIM_C: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

static uint64_t calls;
static uintptr_t last_addr;
static size_t last_len;
static int last_flags;

int msync(void *addr, size_t len, int flags)
{
	static int (*next)(void *, size_t, int);
	if (!next)
		next = (int (*)(void *, size_t, int))dlsym(RTLD_NEXT, "msync");
	__atomic_store_n(&last_addr, (uintptr_t)addr, __ATOMIC_RELAXED);
	__atomic_store_n(&last_len, len, __ATOMIC_RELAXED);
	__atomic_store_n(&last_flags, flags, __ATOMIC_RELAXED);
	__atomic_add_fetch(&calls, 1, __ATOMIC_RELEASE);
	return next(addr, len, flags);
}

uint64_t api_msync_calls(void)
{
	return __atomic_load_n(&calls, __ATOMIC_ACQUIRE);
}

void api_msync_last(uintptr_t *addr, size_t *len, int *flags)
{
	*addr = __atomic_load_n(&last_addr, __ATOMIC_RELAXED);
	*len = __atomic_load_n(&last_len, __ATOMIC_RELAXED);
	*flags = __atomic_load_n(&last_flags, __ATOMIC_RELAXED);
}
"#;

#[test]
fn persists_through_msync_unless_pmem() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        return child(&path, Path::new(&std::env::var(DIR_ENV).unwrap()));
    }
    let dir = TempDir::new("msync");
    let Some(shim) = build_shim(dir.path()) else {
        return;
    };
    for (force, path) in [("0", "msync"), ("1", "flush")] {
        let env = [
            ("LD_PRELOAD", shim.as_os_str()),
            ("PMEM_IS_PMEM_FORCE", force.as_ref()),
        ];
        run_child(TEST_NAME, path, dir.path(), &env);
    }
}

/// In fit mode a file receives only what was made durable, so the file
/// shows which path was taken: the 64-byte lines persisted on pmem, whole
/// pages (msync's unit) elsewhere.
#[test]
fn fit_mode_shows_lines_on_pmem_and_pages_elsewhere() {
    const NAME: &str = "fit_mode_shows_lines_on_pmem_and_pages_elsewhere";
    if let Ok(force) = std::env::var(CHILD_ENV) {
        return fit_child(force == "1", Path::new(&std::env::var(DIR_ENV).unwrap()));
    }
    let dir = TempDir::new("fit");
    for force in ["0", "1"] {
        let env = [
            ("PMEM_PERSIST_MODE", "fit".as_ref()),
            ("PMEM_IS_PMEM_FORCE", force.as_ref()),
        ];
        run_child(NAME, force, dir.path(), &env);
    }
}

/// Runs test `name` alone in a new process of this binary with `env`, as
/// child `case`, and fails unless it ran and passed.
fn run_child(name: &str, case: &str, dir: &Path, env: &[(&str, &std::ffi::OsStr)]) {
    let out = common::self_command()
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env_remove("PMEM_PERSIST_MODE")
        .env_remove("PMEM_IS_PMEM_FORCE")
        .envs(env.iter().copied())
        .env(CHILD_ENV, case)
        .env(DIR_ENV, dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{name}: case {case} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

fn fit_child(on_pmem: bool, dir: &Path) {
    let file = dir.join(format!("fit-{on_pmem}"));
    // SAFETY: the file is this test's own.
    let mut f = unsafe { PmemFile::create(&file, 3 * 4096) }.unwrap();
    assert_eq!(f.is_pmem(), on_pmem);
    // Stores that are never persisted themselves: one in another line of
    // the page persisted next, one in a page never persisted.
    f[200..209].copy_from_slice(b"same page");
    f[8192..8202].copy_from_slice(b"other page");
    f.write_persist(0, b"kept").unwrap();
    f.fill_persist(4096..4100, b'p').unwrap();
    drop(f);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(&bytes[..4], b"kept");
    assert_eq!(&bytes[4096..4100], b"pppp");
    let same_page: &[u8] = if on_pmem { &[0; 9] } else { b"same page" };
    assert_eq!(
        &bytes[200..209],
        same_page,
        "bytes persisted along with line 0"
    );
    assert_eq!(&bytes[8192..8202], &[0; 10], "a page never persisted");
}

type CallsFn = extern "C" fn() -> u64;
type LastFn = extern "C" fn(*mut usize, *mut usize, *mut libc::c_int);

/// The counters of the shim loaded into this process.
struct Shim {
    calls: CallsFn,
    last: LastFn,
}

impl Shim {
    fn loaded() -> Shim {
        Shim {
            // SAFETY: the shim defines these with exactly these signatures.
            calls: unsafe {
                std::mem::transmute::<*mut libc::c_void, CallsFn>(symbol(c"api_msync_calls"))
            },
            // SAFETY: as above.
            last: unsafe {
                std::mem::transmute::<*mut libc::c_void, LastFn>(symbol(c"api_msync_last"))
            },
        }
    }

    /// msync calls made by `op`, and the last one's (addr, len, flags).
    fn count(&self, op: impl FnOnce()) -> (u64, (usize, usize, i32)) {
        let before = (self.calls)();
        op();
        let n = (self.calls)() - before;
        let (mut addr, mut len, mut flags) = (0, 0, 0);
        (self.last)(&mut addr, &mut len, &mut flags);
        (n, (addr, len, flags))
    }
}

fn symbol(name: &core::ffi::CStr) -> *mut libc::c_void {
    // SAFETY: dlsym with a NUL-terminated name has no other precondition.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    assert!(!p.is_null(), "{name:?} not found: is the shim preloaded?");
    p
}

/// Runs in the process under the shim; `path` is "msync" or "flush".
fn child(path: &str, dir: &Path) {
    let shim = Shim::loaded();
    let on_pmem = path == "flush";
    let file = dir.join(path);
    // SAFETY: the file is this test's own.
    let mut f = unsafe { PmemFile::create(&file, 3 * 4096) }.unwrap();
    assert_eq!(f.is_pmem(), on_pmem);
    let base = f.as_ptr() as usize;
    // Each durable operation, the bytes it writes, and the range it covers.
    let mut check =
        |what: &str, range: std::ops::Range<usize>, op: &mut dyn FnMut(&mut PmemFile)| {
            let (n, (addr, len, flags)) = shim.count(|| op(&mut f));
            if on_pmem {
                assert_eq!(n, 0, "{what}: msync on pmem");
                return;
            }
            assert_eq!(n, 1, "{what}: msync calls");
            assert_eq!(flags, libc::MS_SYNC, "{what}: msync flags");
            let (start, end) = (base + range.start, base + range.end);
            assert!(
                addr <= start && end <= addr + len,
                "{what}: msync of {addr:#x}+{len} misses {start:#x}..{end:#x}"
            );
        };
    check("write_persist", 100..107, &mut |f| {
        f.write_persist(100, b"written").unwrap()
    });
    check("store + persist", 5000..5008, &mut |f| {
        f[5000..5008].copy_from_slice(b"mutated!");
        f.persist(5000..5008).unwrap();
    });
    check("fill_persist", 8190..8200, &mut |f| {
        f.fill_persist(8190..8200, b'f').unwrap()
    });
    check("copy_within_persist", 9000..9007, &mut |f| {
        f.copy_within_persist(100..107, 9000).unwrap()
    });
    check("memcpy NODRAIN + drain", 200..207, &mut |f| {
        f.memcpy(200, b"nodrain", MemFlags::NODRAIN).unwrap();
        f.drain();
    });
    check(
        "memset + memmove NOFLUSH, flush, drain",
        300..310,
        &mut |f| {
            f.memset(300..303, b'x', MemFlags::NOFLUSH).unwrap();
            f.memmove(100..107, 303, MemFlags::NOFLUSH).unwrap();
            f.flush(300..310).unwrap();
            f.drain();
        },
    );
    let (n, _) = shim.count(|| f.memcpy(400, b"unflushed", MemFlags::NOFLUSH).unwrap());
    assert_eq!(n, 0, "NOFLUSH must not msync");
    drop(f);

    let bytes = std::fs::read(&file).unwrap();
    for (at, want) in [
        (100, &b"written"[..]),
        (5000, b"mutated!"),
        (8190, b"ffffffffff"),
        (9000, b"written"),
        (200, b"nodrain"),
        (300, b"xxxwritten"),
        (400, b"unflushed"),
    ] {
        assert_eq!(&bytes[at..at + want.len()], want, "bytes at {at}");
    }
}

/// Compiles the shim into `dir`; None (a named skip) when there is no C
/// compiler, which is a failure under CI=true.
fn build_shim(dir: &Path) -> Option<PathBuf> {
    let src = dir.join("msync_shim.c");
    let so = dir.join("msync_shim.so");
    std::fs::write(&src, SHIM_C).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    match Command::new(&cc)
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&so)
        .arg(&src)
        .arg("-ldl")
        .status()
    {
        Ok(s) if s.success() => Some(so),
        Ok(s) => panic!("{cc} failed to build the msync shim: {s}"),
        Err(e) => {
            let why = format!("{TEST_NAME}: SKIPPED: no C compiler ({cc}: {e})");
            assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{why}");
            eprintln!("{why}");
            None
        }
    }
}
