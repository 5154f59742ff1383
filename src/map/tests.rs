//! map_file's flag and length rules, and that a failed call never loses or
//! leaves behind a file.

use super::*;
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

const C: i32 = FILE_CREATE;
const X: i32 = FILE_EXCL;
const S: i32 = FILE_SPARSE;
const T: i32 = FILE_TMPFILE;
const MIB: usize = 1 << 20;

/// A scratch directory removed (and unmounted, if mounted) on drop.
pub(super) struct Scratch {
    pub(super) dir: PathBuf,
    mounted: bool,
}

impl Scratch {
    pub(super) fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("pmem-map-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch {
            dir,
            mounted: false,
        }
    }

    /// A tmpfs of `size` bytes, when this process may mount one.
    fn tmpfs(name: &str, size: usize) -> Option<Scratch> {
        let mut s = Scratch::new(name);
        let target = cstr(&s.dir);
        let opts = CString::new(format!("size={size},mode=0755")).unwrap();
        // SAFETY: all strings are NUL-terminated; mounting a fresh tmpfs on
        // our own empty directory affects nothing else.
        let rc = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                target.as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                opts.as_ptr().cast(),
            )
        };
        s.mounted = rc == 0;
        s.mounted.then_some(s)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.mounted {
            let target = cstr(&self.dir);
            // SAFETY: unmounting the tmpfs mounted in Scratch::tmpfs.
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

fn map(p: &Path, len: usize, flags: i32, mode: libc::mode_t) -> Result<Mapping> {
    map_file(&cstr(p), len, flags, mode)
}

fn errno_of(r: Result<Mapping>) -> i32 {
    match r {
        Ok(m) => panic!("mapped {} bytes, wanted a failure", m.len),
        Err(e) => e.errno(),
    }
}

fn unmap_all(m: Mapping) {
    // SAFETY: the mapping is ours and nothing refers into it.
    unsafe { unmap(m.addr, m.len) }.unwrap();
}

/// Everything a failed call must leave as it was.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    content: Vec<u8>,
    mode: u32,
    blocks: u64,
}

fn snapshot(p: &Path) -> Snapshot {
    let md = fs::metadata(p).unwrap();
    Snapshot {
        content: fs::read(p).unwrap(),
        mode: md.mode(),
        blocks: md.blocks(),
    }
}

/// A file with data, a hole in the middle and mode 0640.
fn existing_file(p: &Path, len: usize) -> Snapshot {
    let mut data: Vec<u8> = (0..len).map(|i| (i % 251) as u8 + 1).collect();
    data[len / 4..len / 2].fill(0);
    fs::write(p, &data).unwrap();
    // Make the zeroed quarter a real hole.
    let f = fs::OpenOptions::new().write(true).open(p).unwrap();
    use std::os::fd::AsRawFd;
    // SAFETY: punching a range of our own scratch file.
    unsafe {
        libc::fallocate(
            f.as_raw_fd(),
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            (len / 4) as libc::off_t,
            (len / 4) as libc::off_t,
        )
    };
    fs::set_permissions(p, fs::Permissions::from_mode(0o640)).unwrap();
    snapshot(p)
}

#[test]
fn length_and_flag_rules() {
    let s = Scratch::new("rules");
    let f = s.path("f");
    let before = existing_file(&f, 64 << 10);
    for (len, flags) in [
        (0, 1 << 4),   // unknown flag bit
        (0, -1),       // every bit
        (4096, 0),     // length without CREATE
        (4096, X | S), // ... even with other flags
        (0, C),        // CREATE with zero length
        (0, C | S),
        (4096, T),                          // TMPFILE without CREATE
        (libc::off_t::MAX as usize + 1, C), // a length off_t cannot hold
        (usize::MAX, C | S),
    ] {
        assert_eq!(
            errno_of(map(&f, len, flags, 0o600)),
            libc::EINVAL,
            "{len} {flags:#x}"
        );
        assert_eq!(snapshot(&f), before);
    }
    assert_eq!(s.entries(), ["f"]);
}

#[test]
fn bad_paths() {
    let s = Scratch::new("paths");
    assert_eq!(errno_of(map_file(c"", 0, 0, 0)), libc::ENOENT);
    assert_eq!(errno_of(map_file(c"", 4096, C, 0o600)), libc::ENOENT);
    assert_eq!(errno_of(map(&s.dir, 0, 0, 0)), libc::EISDIR);
    assert_eq!(errno_of(map(&s.dir, 4096, C, 0o600)), libc::EISDIR);
    let missing = s.path("no/such/file");
    assert_eq!(errno_of(map(&missing, 0, 0, 0)), libc::ENOENT);
    assert_eq!(errno_of(map(&missing, 4096, C, 0o600)), libc::ENOENT);
    fs::write(s.path("empty"), b"").unwrap();
    assert_eq!(errno_of(map(&s.path("empty"), 0, 0, 0)), libc::EINVAL);
    assert_eq!(errno_of(map(&s.path("empty/x"), 0, 0, 0)), libc::ENOTDIR);
    assert_eq!(errno_of(map(Path::new("/dev/null"), 0, 0, 0)), libc::EINVAL);
    assert_eq!(
        errno_of(map(Path::new("/dev/null"), 4096, C, 0)),
        libc::EINVAL
    );
    assert_eq!(s.entries(), ["empty"]);
}

#[test]
fn create_sizes_allocates_and_honours_mode() {
    let s = Scratch::new("create");
    let (full, sparse) = (s.path("full"), s.path("sparse"));
    let m = map(&full, 3 * MIB, C, 0o640).unwrap();
    assert_eq!((m.len, m.is_pmem), (3 * MIB, false));
    assert_eq!(
        m.addr as usize % (2 * MIB),
        0,
        "large mappings are 2 MiB aligned"
    );
    // SAFETY: m is a live read/write mapping of 3 MiB.
    unsafe { m.addr.add(3 * MIB - 1).write(0x5a) };
    unmap_all(m);
    let md = fs::metadata(&full).unwrap();
    // SAFETY: umask only swaps the process mask; it is put back at once.
    let umask = unsafe {
        let u = libc::umask(0);
        libc::umask(u);
        u
    };
    assert_eq!(md.mode() & 0o777, 0o640 & !umask);
    assert_eq!(md.len(), 3 * MIB as u64);
    assert!(md.blocks() * 512 >= 3 * MIB as u64);
    assert_eq!(fs::read(&full).unwrap()[3 * MIB - 1], 0x5a);
    let m = map(&sparse, 3 * MIB, C | S, 0o600).unwrap();
    unmap_all(m);
    let md = fs::metadata(&sparse).unwrap();
    assert_eq!((md.len(), md.blocks()), (3 * MIB as u64, 0));
}

#[test]
fn create_on_an_existing_file_resizes_it() {
    let s = Scratch::new("resize");
    let f = s.path("f");
    let before = existing_file(&f, 64 << 10);
    // Extend: old content kept, the hole allocated.
    let m = map(&f, 128 << 10, C, 0o600).unwrap();
    unmap_all(m);
    let after = snapshot(&f);
    assert_eq!(&after.content[..64 << 10], &before.content[..]);
    assert!(after.content[64 << 10..].iter().all(|&b| b == 0));
    assert_eq!(after.mode, before.mode, "an existing file keeps its mode");
    assert!(after.blocks * 512 >= 128 << 10);
    // Shrink.
    let m = map(&f, 16 << 10, C | S, 0o600).unwrap();
    assert_eq!(m.len, 16 << 10);
    unmap_all(m);
    assert_eq!(fs::read(&f).unwrap(), &before.content[..16 << 10]);
    // Without CREATE the file's own size is mapped, EXCL or not.
    for flags in [0, X] {
        let m = map(&f, 0, flags, 0).unwrap();
        assert_eq!(m.len, 16 << 10);
        unmap_all(m);
    }
    assert_eq!(errno_of(map(&f, 4096, C | X, 0o600)), libc::EEXIST);
    assert_eq!(fs::metadata(&f).unwrap().len(), 16 << 10);
}

#[test]
fn tmpfile_leaves_no_name() {
    let s = Scratch::new("tmp");
    for flags in [C | T, C | T | X, C | T | S] {
        let m = map(&s.dir, 8192, flags, 0o644).unwrap();
        assert_eq!(m.len, 8192);
        assert!(s.entries().is_empty());
        unmap_all(m);
    }
    // The fallback for file systems without O_TMPFILE.
    let fd = file::created_and_unlinked(&cstr(&s.dir)).unwrap();
    use std::os::fd::AsRawFd;
    let st = file::fstat(fd.as_raw_fd()).unwrap();
    assert_eq!((st.st_nlink, st.st_mode & 0o777), (0, 0o600));
    assert!(s.entries().is_empty());
    let missing = cstr(&s.path("missing"));
    assert_eq!(
        file::created_and_unlinked(&missing).unwrap_err().errno(),
        libc::ENOENT
    );
    assert_eq!(
        errno_of(map(&s.path("missing"), 4096, C | T, 0)),
        libc::ENOENT
    );
    fs::write(s.path("file"), b"x").unwrap();
    assert_eq!(
        errno_of(map(&s.path("file"), 4096, C | T, 0)),
        libc::ENOTDIR
    );
}

#[test]
fn a_created_file_is_removed_when_mapping_fails() {
    // A length the address space cannot hold fails at mmap, after the
    // file was created and sized sparse.
    let s = Scratch::new("mmapfail");
    for flags in [C | S, C | S | X] {
        let big = i64::MAX as usize & !0xfff;
        let r = map(&s.path("f"), big, flags, 0o600);
        assert!(matches!(
            errno_of(r),
            libc::ENOMEM | libc::EFBIG | libc::EINVAL
        ));
        assert!(s.entries().is_empty(), "{flags:#x}: {:?}", s.entries());
    }
}

#[test]
fn unmap_and_registry() {
    let s = Scratch::new("unmap");
    let page = crate::persist::page_size();
    let m = map(&s.path("f"), 8 * page, C, 0o600).unwrap();
    let a = m.addr as usize;
    assert_eq!(
        find(m.addr).map(|i| (i.start, i.len, i.value.is_pmem())),
        Some((a, 8 * page, false))
    );
    assert!(!is_pmem(m.addr, m.len));
    // SAFETY: each call unmaps part of the mapping above, which nothing
    // else uses.
    unsafe {
        assert_eq!(
            unmap(m.addr.add(1), page).unwrap_err().errno(),
            libc::EINVAL
        );
        assert_eq!(unmap(m.addr, 0).unwrap_err().errno(), libc::EINVAL);
        unmap(m.addr.add(2 * page), page + 1).unwrap();
    }
    assert_eq!(find(m.addr).map(|i| i.len), Some(2 * page));
    assert_eq!(find((a + 3 * page) as *const u8), None);
    assert_eq!(
        find((a + 4 * page) as *const u8).map(|i| (i.start, i.len)),
        Some((a + 4 * page, 4 * page))
    );
    // SAFETY: as above; the hole is already unmapped (munmap allows that).
    unsafe { unmap(m.addr, 8 * page) }.unwrap();
    assert_eq!(find((a + 5 * page) as *const u8), None);
}

#[test]
fn a_range_past_the_end_of_the_address_space_is_never_pmem() {
    // A pretend Device DAX entry in the last page, where no mapping of this
    // process can be, so other tests never see it.
    let top = usize::MAX - 0xfff;
    REGISTRY.insert(top..usize::MAX, Backing::DevDax { rdev: 0 });
    assert!(is_pmem(top as *const u8, 0xfff));
    assert!(!is_pmem(top as *const u8, 0x1000), "one past usize::MAX");
    assert!(!is_pmem((usize::MAX - 1) as *const u8, 4), "wraps to 2");
    REGISTRY.remove(top..usize::MAX);
    assert!(!is_pmem(top as *const u8, 0xfff));
}

/// Fills a tmpfs so that only `free` bytes remain.
fn leave_free(s: &Scratch, total: usize, free: usize) {
    let filler = s.path("filler");
    let used: u64 = fs::read_dir(&s.dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().blocks() * 512)
        .sum();
    let want = (total - free) as u64 - used;
    let f = fs::File::create(&filler).unwrap();
    use std::os::fd::AsRawFd;
    // SAFETY: allocating our own scratch file.
    let rc = unsafe { libc::posix_fallocate(f.as_raw_fd(), 0, want as libc::off_t) };
    assert_eq!(rc, 0);
}

#[test]
fn nothing_is_lost_when_the_file_system_is_full() {
    let total = 1 << 20;
    let Some(s) = Scratch::tmpfs("full", total) else {
        // rlimit_rollback below covers the rollback without privileges,
        // but not ENOSPC itself: CI must be able to run this.
        let why = "nothing_is_lost_when_the_file_system_is_full: SKIPPED: cannot mount a \
                   tmpfs here (needs CAP_SYS_ADMIN); ENOSPC is then untested";
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{why}");
        eprintln!("{why}");
        return;
    };
    let f = s.path("f");
    let before = existing_file(&f, 256 << 10);
    leave_free(&s, total, 32 << 10);
    let entries = s.entries();
    let cases = [
        (f.clone(), 512 << 10, C),     // extend: fallocate runs out mid-way
        (f.clone(), 128 << 10, C),     // shrink, but filling the hole fails
        (f.clone(), 256 << 10, C),     // same size, filling the hole fails
        (f.clone(), 512 << 10, C | S), // sparse extend succeeds...
    ];
    for (p, len, flags) in &cases[..3] {
        assert_eq!(
            errno_of(map(p, *len, *flags, 0o600)),
            libc::ENOSPC,
            "{len} {flags:#x}"
        );
        kept_everything(&f, &before, &format!("{len} {flags:#x}"));
        set_len(&f, 256 << 10);
    }
    let m = map(&cases[3].0, cases[3].1, cases[3].2, 0o600).unwrap();
    unmap_all(m);
    set_len(&f, 256 << 10);
    assert_eq!(snapshot(&f).content, before.content);
    for flags in [C, C | X, C | T, C | T | X] {
        let p = if flags & T != 0 {
            s.dir.clone()
        } else {
            s.path("new")
        };
        assert_eq!(
            errno_of(map(&p, 512 << 10, flags, 0o600)),
            libc::ENOSPC,
            "{flags:#x}"
        );
        assert_eq!(s.entries(), entries, "{flags:#x}");
    }
}

#[test]
fn a_name_taken_meanwhile_is_not_replaced() {
    let s = Scratch::new("taken");
    let p = s.path("f");
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    for excl in [false, true] {
        let mut f = file::PreparedFile::open_or_create(&c, excl, 0o600).unwrap();
        // Unnamed until the commit: the name is still free.
        assert!(!p.exists());
        f.set_len(4096, false).unwrap();
        fs::write(&p, b"theirs").unwrap();
        let r = f.commit();
        if excl {
            assert_eq!(r.unwrap_err().errno(), libc::EEXIST);
        } else {
            assert!(matches!(r.unwrap(), file::Committed::NameTaken));
        }
        assert_eq!(fs::read(&p).unwrap(), b"theirs");
        fs::remove_file(&p).unwrap();
    }
    // Uncontested: the name appears at the commit, with the file's size.
    let mut f = file::PreparedFile::open_or_create(&c, true, 0o600).unwrap();
    f.set_len(8192, false).unwrap();
    assert!(matches!(f.commit().unwrap(), file::Committed::Linked(_)));
    assert_eq!(fs::metadata(&p).unwrap().len(), 8192);
}

/// A file the call created is mapped as its name, as PMDK's is: not as the
/// unnamed O_TMPFILE it was made from, which /proc/PID/maps (and lsof,
/// fuser, debuggers, CRIU) shows as `DIR/#INODE (deleted)`.
#[test]
fn a_created_file_is_mapped_under_its_name() {
    let s = Scratch::new("named");
    let p = s.path("pool");
    let m = map(&p, 1 << 20, FILE_CREATE | FILE_EXCL, 0o600).unwrap();
    let maps = fs::read_to_string("/proc/self/maps").unwrap();
    let line = maps
        .lines()
        .find(|l| {
            let lo = l.split('-').next().unwrap();
            usize::from_str_radix(lo, 16).unwrap() == m.addr as usize
        })
        .expect("the mapping is in /proc/self/maps");
    assert!(line.ends_with(p.to_str().unwrap()), "{line}");
    // The mapping is the file: a store through it is in the file.
    // SAFETY: the mapping is 1 MiB, read/write, and ours.
    unsafe { *m.addr = b'x' };
    assert_eq!(fs::read(&p).unwrap()[0], b'x');
    // SAFETY: unmapped once, as mapped.
    unsafe { unmap(m.addr, m.len) }.unwrap();
}

/// What a failed call may leave of an existing file: every byte and every
/// allocated block it had, and at most a zero-filled tail from a grow
/// (which is not undone: someone may have written there meanwhile).
fn kept_everything(f: &Path, before: &Snapshot, what: &str) {
    let after = snapshot(f);
    let n = before.content.len();
    assert!(after.content.len() >= n, "{what}: shrunk");
    assert!(
        after.content[..n] == before.content[..],
        "{what}: content changed"
    );
    assert!(after.content[n..].iter().all(|&b| b == 0), "{what}: tail");
    assert_eq!(after.mode, before.mode, "{what}");
    assert!(after.blocks >= before.blocks, "{what}: blocks released");
}

fn set_len(f: &Path, len: u64) {
    let file = fs::OpenOptions::new().write(true).open(f).unwrap();
    file.set_len(len).unwrap();
}

use crate::test_common::self_command;

/// Runs `child` in a copy of this test binary with RLIMIT_FSIZE at 64 KiB
/// and SIGXFSZ ignored, so growing a file past it fails with EFBIG.
#[test]
fn rlimit_rollback() {
    use std::os::unix::process::CommandExt;
    let s = Scratch::new("rlimit");
    let mut cmd = self_command();
    cmd.args([
        "--exact",
        "map::tests::rlimit_child",
        "--ignored",
        "--test-threads=1",
    ])
    .env("PMEM_RLIMIT_DIR", &s.dir);
    // SAFETY: the closure runs between fork and exec and only calls
    // async-signal-safe functions.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 64 << 10,
                rlim_max: 64 << 10,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 passed"), "{text}");
}

#[test]
#[ignore = "run by rlimit_rollback in a child with RLIMIT_FSIZE set"]
fn rlimit_child() {
    let dir = PathBuf::from(std::env::var_os("PMEM_RLIMIT_DIR").expect("PMEM_RLIMIT_DIR"));
    let f = dir.join("f");
    let before = existing_file(&f, 32 << 10);
    for flags in [C, C | S] {
        assert_eq!(errno_of(map(&f, 1 << 20, flags, 0o600)), libc::EFBIG);
        assert_eq!(snapshot(&f), before);
    }
    for flags in [C, C | X, C | S] {
        assert_eq!(
            errno_of(map(&dir.join("new"), 1 << 20, flags, 0o600)),
            libc::EFBIG
        );
        assert!(!dir.join("new").exists(), "{flags:#x}");
    }
    assert_eq!(errno_of(map(&dir, 1 << 20, C | T, 0o600)), libc::EFBIG);
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
}

mod concurrency;
