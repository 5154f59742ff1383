//! The mapping code's side of the persistence-mode seam: with a mode that
//! wants private mappings, files are mapped MAP_PRIVATE, on_map sees each
//! new mapping (and can veto it), and unmap sees every unmap, partial
//! ones included. Its own test binary, since hooks are process-wide.

use pmem::testing::map;
use pmem::testing::persist::mode_hook::{self, ModeHooks};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static EVENTS: Mutex<Vec<(&str, usize, usize)>> = Mutex::new(Vec::new());
static VETO: AtomicBool = AtomicBool::new(false);

fn on_map(fd: i32, addr: *mut u8, len: usize) -> pmem::Result<()> {
    // SAFETY: plain data filled by fstat.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: st is a writable stat buffer; fstat checks fd itself.
    let rc = unsafe { libc::fstat(fd, &mut st) };
    assert_eq!(rc, 0, "on_map gets an open fd");
    assert!(st.st_size as usize >= len);
    if VETO.load(Ordering::Relaxed) {
        return Err(pmem::Error::new(libc::EPERM, "vetoed"));
    }
    EVENTS.lock().unwrap().push(("map", addr as usize, len));
    Ok(())
}

fn unmap(
    addr: *mut u8,
    len: usize,
    munmap: &mut dyn FnMut() -> pmem::Result<()>,
) -> pmem::Result<()> {
    EVENTS.lock().unwrap().push(("unmap", addr as usize, len));
    munmap()
}

fn no_flush(_: *const u8, _: usize) {}
fn no_drain() {}
fn no_msync(_: *const u8, _: usize) -> pmem::Result<()> {
    Ok(())
}

static FIT: ModeHooks = ModeHooks {
    name: "test-fit",
    flush: no_flush,
    drain: no_drain,
    msync: no_msync,
    private_mappings: true,
    on_map,
    unmap,
    deep_drain: no_msync,
};

fn take_events() -> Vec<(&'static str, usize, usize)> {
    std::mem::take(&mut *EVENTS.lock().unwrap())
}

#[test]
fn private_mappings_and_hooks() {
    let dir = std::env::temp_dir().join(format!("pmem-hooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("f");
    let cpath = CString::new(path.as_os_str().as_bytes()).unwrap();
    let page = pmem::testing::persist::page_size();
    mode_hook::install(Some(&FIT));

    let m = map::map_file(&cpath, 4 * page, 1, 0o600).unwrap();
    assert!(!m.is_pmem);
    assert_eq!(take_events(), [("map", m.addr as usize, 4 * page)]);
    // MAP_PRIVATE: stores stay out of the file.
    // SAFETY: the mapping is live and writable.
    unsafe { m.addr.write_bytes(0xab, 4 * page) };
    assert!(std::fs::read(&path).unwrap().iter().all(|&b| b == 0));
    // SAFETY: nothing refers into the mapping.
    unsafe {
        map::unmap(m.addr.add(page), page).unwrap();
        map::unmap(m.addr, 4 * page).unwrap();
    }
    let a = m.addr as usize;
    assert_eq!(
        take_events(),
        [("unmap", a + page, page), ("unmap", a, 4 * page)]
    );

    // A vetoed mapping fails, is undone without unmap, and the file
    // this call created is gone.
    VETO.store(true, Ordering::Relaxed);
    let fresh = CString::new(dir.join("fresh").as_os_str().as_bytes()).unwrap();
    assert_eq!(
        map::map_file(&fresh, page, 1, 0o600).unwrap_err().errno(),
        libc::EPERM
    );
    assert!(!dir.join("fresh").exists());
    let f = std::fs::File::options()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    use std::os::fd::AsRawFd;
    assert_eq!(
        map::map_fd(f.as_raw_fd(), page).unwrap_err().errno(),
        libc::EPERM
    );
    assert!(take_events().is_empty());
    VETO.store(false, Ordering::Relaxed);

    // The original API's pmem_map goes the same way.
    let m = map::map_fd(f.as_raw_fd(), 2 * page).unwrap();
    assert_eq!(take_events(), [("map", m.addr as usize, 2 * page)]);
    // SAFETY: nothing refers into the mapping.
    unsafe { map::unmap(m.addr, 2 * page).unwrap() };
    assert_eq!(take_events(), [("unmap", m.addr as usize, 2 * page)]);

    mode_hook::install(None);
    let m = map::map_file(&cpath, 0, 0, 0).unwrap();
    // SAFETY: as above.
    unsafe { m.addr.write(0xcd) };
    pmem::testing::persist::msync(m.addr, 1).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap()[0],
        0xcd,
        "shared again without the mode"
    );
    // SAFETY: as above.
    unsafe { map::unmap(m.addr, m.len).unwrap() };
    assert!(take_events().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
