//! The sysfs readers against fake trees, one branch each.

use super::*;
use crate::map::devdax;
use crate::map::tests::Scratch;
use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};

/// A fake sysfs tree in a scratch directory.
struct FakeSys {
    dir: PathBuf,
    _scratch: Scratch,
}

impl FakeSys {
    fn new(name: &str) -> FakeSys {
        let scratch = Scratch::new(&format!("sysfs-{name}"));
        FakeSys {
            dir: scratch.dir.clone(),
            _scratch: scratch,
        }
    }

    fn sys(&self) -> Sysfs {
        Sysfs::at(&self.dir)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        p
    }

    fn region(&self, n: u32, domain: Option<&str>) {
        let dir = format!("bus/nd/devices/region{n}");
        fs::create_dir_all(self.dir.join(&dir)).unwrap();
        if let Some(d) = domain {
            self.write(&format!("{dir}/persistence_domain"), &format!("{d}\n"));
        }
    }

    /// A device directory under a region, linked from dev/<kind>/<maj:min>
    /// with a relative link, as the kernel does.
    fn device(&self, kind: &str, dev: u64, region: u32, leaf: &str) -> PathBuf {
        let real = format!("devices/ndbus0/region{region}/{leaf}");
        fs::create_dir_all(self.dir.join(&real)).unwrap();
        let link_dir = self.dir.join("dev").join(kind);
        fs::create_dir_all(&link_dir).unwrap();
        let name = format!("{}:{}", libc::major(dev), libc::minor(dev));
        symlink(format!("../../{real}"), link_dir.join(name)).unwrap();
        self.dir.join(real)
    }
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn auto_flush_without_nd_bus_or_regions_is_false() {
    let f = FakeSys::new("nobus");
    assert_eq!(auto_flush_in(&f.sys()), Ok(false));
    fs::create_dir_all(f.dir.join(REGIONS)).unwrap();
    assert_eq!(auto_flush_in(&f.sys()), Ok(false));
    // Other nd devices (namespaces, dimms) are not regions.
    fs::create_dir_all(f.dir.join(REGIONS).join("namespace0.0")).unwrap();
    assert_eq!(auto_flush_in(&f.sys()), Ok(false));
}

#[test]
fn auto_flush_needs_every_region_on_cpu_cache() {
    const CPU: Option<&str> = Some("cpu_cache");
    let cases: [(&[Option<&str>], bool); 6] = [
        (&[], false),
        (&[CPU], true),
        (&[CPU, CPU], true),
        (&[CPU, CPU, Some("memory_controller")], false),
        // A region that reports no domain promises nothing.
        (&[CPU, None], false),
        (&[Some("")], false),
    ];
    for (i, (domains, want)) in cases.into_iter().enumerate() {
        let f = FakeSys::new(&format!("domains{i}"));
        fs::create_dir_all(f.dir.join(REGIONS)).unwrap();
        for (n, d) in domains.iter().enumerate() {
            f.region(n as u32, *d);
        }
        assert_eq!(auto_flush_in(&f.sys()), Ok(want), "{domains:?}");
    }
}

#[test]
fn auto_flush_unreadable_domain_is_unknown_unless_another_says_no() {
    let f = FakeSys::new("unreadable");
    f.region(0, Some("cpu_cache"));
    // A directory where the attribute should be: reading it fails (EISDIR)
    // even for root, unlike a chmod 000 file.
    fs::create_dir_all(f.dir.join(REGIONS).join("region1/persistence_domain")).unwrap();
    let err = auto_flush_in(&f.sys()).unwrap_err();
    assert_eq!(err.errno(), libc::EISDIR);
    f.region(2, Some("memory_controller"));
    assert_eq!(auto_flush_in(&f.sys()), Ok(false));
}

#[test]
fn auto_flush_unlistable_bus_is_an_error() {
    let f = FakeSys::new("unlistable");
    // The devices "directory" is a file: listing it fails with ENOTDIR.
    f.write(REGIONS, "");
    assert_eq!(auto_flush_in(&f.sys()).unwrap_err().errno(), libc::ENOTDIR);
}

/// The real tree, read here without the library: no region directory at
/// all means false; regions whose domains all read means true exactly when
/// every one is `cpu_cache`; an unreadable domain leaves no expectation
/// but an answer.
#[test]
fn auto_flush_on_this_machine_matches_its_regions() {
    let bus = Path::new("/sys").join(REGIONS);
    let domains: Vec<io::Result<String>> = match fs::read_dir(&bus) {
        Ok(entries) => entries
            .map(|e| e.unwrap())
            .filter(|e| e.file_name().to_string_lossy().starts_with("region"))
            .map(|e| fs::read_to_string(e.path().join("persistence_domain")))
            .collect(),
        Err(_) => Vec::new(),
    };
    let got = has_auto_flush();
    if domains.iter().all(|d| d.is_ok()) {
        let every_cpu_cache = domains
            .iter()
            .all(|d| d.as_ref().unwrap().trim() == "cpu_cache");
        assert_eq!(
            got,
            Ok(!domains.is_empty() && every_cpu_cache),
            "{domains:?}"
        );
    } else if let Err(e) = got {
        assert_ne!(e.errno(), 0);
    }
}

const DAX_RDEV: u64 = (251 << 8) | 3;

fn dax_device(f: &FakeSys, size: &str, align: Option<&str>) {
    let dir = f.device("char", DAX_RDEV, 4, "dax4.0/dax/dax4.0");
    fs::create_dir_all(f.dir.join("class/dax")).unwrap();
    symlink("../../../../../../class/dax", dir.join("subsystem")).unwrap();
    fs::write(dir.join("size"), size).unwrap();
    if let Some(a) = align {
        fs::create_dir_all(dir.join("device")).unwrap();
        fs::write(dir.join("device/align"), a).unwrap();
    }
}

#[test]
fn devdax_size_and_alignment_come_from_sysfs() {
    let f = FakeSys::new("dax");
    // 1 GiB: a size that also fits a 32-bit usize.
    dax_device(&f, "1073741824\n", Some("2097152\n"));
    let d = devdax::probe(&f.sys(), DAX_RDEV).unwrap();
    assert_eq!(
        d,
        devdax::DaxDevice {
            rdev: DAX_RDEV,
            size: 1 << 30,
            align: 2 << 20
        }
    );
}

#[test]
fn devdax_without_align_attribute_uses_the_page_size() {
    let f = FakeSys::new("daxnoalign");
    dax_device(&f, "0x200000", None);
    let d = devdax::probe(&f.sys(), DAX_RDEV).unwrap();
    assert_eq!((d.size, d.align), (2 << 20, crate::persist::page_size()));
}

#[test]
fn devdax_bad_attributes_are_einval() {
    for (i, (size, align)) in [
        ("junk", Some("4096")),
        ("0", Some("4096")),
        ("4096", Some("3000")),
        ("4096", Some("2097152")),
        ("4096", Some("x")),
    ]
    .into_iter()
    .enumerate()
    {
        let f = FakeSys::new(&format!("daxbad{i}"));
        dax_device(&f, size, align);
        let e = devdax::probe(&f.sys(), DAX_RDEV).unwrap_err();
        assert_eq!(e.errno(), libc::EINVAL, "size {size} align {align:?}");
    }
    let f = FakeSys::new("daxnosize");
    dax_device(&f, "1", None);
    let dir = f.dir.join("devices/ndbus0/region4/dax4.0/dax/dax4.0");
    fs::remove_file(dir.join("size")).unwrap();
    assert_eq!(
        devdax::probe(&f.sys(), DAX_RDEV).unwrap_err().errno(),
        libc::EINVAL
    );
}

#[test]
fn other_character_devices_are_not_devdax() {
    let f = FakeSys::new("mem");
    let dir = f.device("char", (1 << 8) | 3, 0, "virtual/mem/null");
    fs::create_dir_all(f.dir.join("class/mem")).unwrap();
    symlink(f.dir.join("class/mem"), dir.join("subsystem")).unwrap();
    let e = devdax::probe(&f.sys(), (1 << 8) | 3).unwrap_err();
    assert_eq!(e.errno(), libc::EINVAL);
    // No sysfs entry at all: the lookup's own errno.
    let e = devdax::probe(&f.sys(), (9 << 8) | 9).unwrap_err();
    assert_eq!(e.errno(), libc::ENOENT);
    // And the real /dev/null on this machine.
    let null = crate::map::file::stat_path(c"/dev/null").unwrap().unwrap();
    let e = devdax::probe(&Sysfs::system(), null.st_rdev).unwrap_err();
    assert_eq!(e.errno(), libc::EINVAL);
}

#[test]
fn deep_flush_file_is_found_through_the_region_ancestor() {
    let f = FakeSys::new("region");
    let blk: u64 = (259 << 8) | 1;
    f.device("block", blk, 7, "namespace7.0/block/pmem7/pmem7p1");
    f.device("char", DAX_RDEV, 3, "dax3.0/dax/dax3.0");
    let want = |n: u32| Some(f.dir.join(format!("bus/nd/devices/region{n}/deep_flush")));
    assert_eq!(
        deep_flush_file(&f.sys(), Backing::MapSync { dev: blk }),
        want(7)
    );
    assert_eq!(
        deep_flush_file(&f.sys(), Backing::DevDax { rdev: DAX_RDEV }),
        want(3)
    );
    assert_eq!(deep_flush_file(&f.sys(), Backing::PageCache), None);
    // A block device outside any region (a plain disk).
    f.device("block", (8 << 8) | 1, 0, "x");
    fs::rename(
        f.dir.join("devices/ndbus0/region0"),
        f.dir.join("devices/ndbus0/regionless"),
    )
    .unwrap();
    assert_eq!(
        deep_flush_file(&f.sys(), Backing::MapSync { dev: (8 << 8) | 1 }),
        None
    );
}

#[test]
fn deep_flush_writes_one_unless_not_needed() {
    let f = FakeSys::new("deepflush");
    // Anything but "0" means "flush needed" ("9" shows the write landed).
    let file = f.write("bus/nd/devices/region0/deep_flush", "9\n");
    write_deep_flush(&file).unwrap();
    assert_eq!(fs::read_to_string(&file).unwrap(), "1\n");
    // "0": the region has nothing to flush; the file is left alone.
    fs::write(&file, "0\n").unwrap();
    write_deep_flush(&file).unwrap();
    assert_eq!(fs::read_to_string(&file).unwrap(), "0\n");
    // No deep_flush attribute: nothing to do.
    write_deep_flush(&f.dir.join("bus/nd/devices/region9/deep_flush")).unwrap();
}

#[test]
fn deep_flush_write_failure_is_reported() {
    if !running_as_root() {
        let f = FakeSys::new("deepro");
        let file = f.write("bus/nd/devices/region0/deep_flush", "1\n");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o444)).unwrap();
        assert_eq!(write_deep_flush(&file).unwrap_err().errno(), libc::EACCES);
    }
    // Root ignores permissions; a full device fails for everyone.
    let e = write_deep_flush(Path::new("/dev/full")).unwrap_err();
    assert_eq!(e.errno(), libc::ENOSPC);
}

#[test]
fn deep_drain_of_page_cache_and_unmapped_ranges_is_msync() {
    let f = FakeSys::new("drain");
    let sys = f.sys();
    assert_eq!(deep_drain_in(&sys, core::ptr::null(), 0), Ok(()));
    // Not mapped at all: msync's ENOMEM, as PMDK reports it.
    let e = deep_drain_in(&sys, 4096 as *const u8, 4096).unwrap_err();
    assert_eq!(e.errno(), libc::ENOMEM);
    let v = vec![0u8; 3 * 4096];
    deep_drain_in(&sys, v.as_ptr(), v.len()).unwrap();
}

#[test]
fn deep_drain_writes_the_region_of_dax_parts_and_msyncs_the_rest() {
    let f = FakeSys::new("drainmix");
    f.device("char", DAX_RDEV, 5, "dax5.0/dax/dax5.0");
    let flush = f.write("bus/nd/devices/region5/deep_flush", "9\n");
    let page = crate::persist::page_size();
    // SAFETY: a fresh anonymous mapping, unmapped below.
    let base = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            3 * page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    } as usize;
    assert_ne!(base, libc::MAP_FAILED as usize);
    // Pretend the middle page is Device DAX.
    let registry = &crate::map::REGISTRY;
    registry.insert(
        base + page..base + 2 * page,
        Backing::DevDax { rdev: DAX_RDEV },
    );
    deep_drain_in(&f.sys(), (base + 10) as *const u8, 3 * page - 20).unwrap();
    assert_eq!(fs::read_to_string(&flush).unwrap(), "1\n");
    // A DAX mapping whose region cannot be found falls back to msync.
    fs::remove_file(f.dir.join("dev/char").join(format!("{}:{}", 251, 3))).unwrap();
    fs::write(&flush, "9\n").unwrap();
    deep_drain_in(&f.sys(), base as *const u8, 3 * page).unwrap();
    assert_eq!(fs::read_to_string(&flush).unwrap(), "9\n");
    registry.remove(base + page..base + 2 * page);
    // SAFETY: mapped above, no references remain.
    unsafe { libc::munmap(base as *mut libc::c_void, 3 * page) };
}
