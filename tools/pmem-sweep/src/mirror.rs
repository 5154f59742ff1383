//! Making one directory tree a copy of another with the fewest writes.
//!
//! Every flip state of a point is the point's crash image with a patch, in
//! a directory of its own that its check may change (recovery writes the
//! pool). Emptying that directory and copying the image again for each
//! state costs an unlink and a full copy (8 MiB for a libpmemobj pool);
//! comparing and rewriting only the chunks that differ costs two reads
//! from the page cache and the few chunks recovery wrote.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::Path;

/// Bytes compared at a time.
const CHUNK: usize = 256 << 10;

/// Makes the tree `to` (made if missing) hold what `from` holds: names,
/// kinds, contents, permission bits and link targets. Entries of `to` that
/// `from` lacks are removed: `to` must be a directory of the sweep's own.
/// Ok(false), with `to` half done, when `from` holds a FIFO, socket or
/// device, which cannot be copied without blocking or side effects.
pub fn sync(from: &Path, to: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(to) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            fs::remove_file(to)?;
            fs::create_dir(to)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir(to)?,
        Err(e) => return Err(e),
    }
    for e in fs::read_dir(to)? {
        let e = e?;
        let kind = e.file_type()?;
        let keep = match fs::symlink_metadata(from.join(e.file_name())) {
            Ok(m) => m.file_type() == kind,
            Err(err) if err.kind() == io::ErrorKind::NotFound => false,
            Err(err) => return Err(err),
        };
        if !keep {
            match kind.is_dir() {
                true => fs::remove_dir_all(e.path())?,
                false => fs::remove_file(e.path())?,
            }
        }
    }
    for e in fs::read_dir(from)? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let kind = e.file_type()?;
        if kind.is_dir() {
            if !sync(&src, &dst)? {
                return Ok(false);
            }
        } else if kind.is_symlink() {
            let target = fs::read_link(&src)?;
            if fs::read_link(&dst).ok().as_ref() != Some(&target) {
                let _ = fs::remove_file(&dst);
                std::os::unix::fs::symlink(target, &dst)?;
            }
        } else if kind.is_file() {
            update_file(&src, &dst)?;
        } else {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Makes the regular file `dst` (made if missing) equal to `src`,
/// rewriting only the chunks that differ.
fn update_file(src: &Path, dst: &Path) -> io::Result<()> {
    let from = File::open(src)?;
    let meta = from.metadata()?;
    if fs::symlink_metadata(dst).is_err() {
        fs::copy(src, dst)?;
        return Ok(());
    }
    let to = OpenOptions::new().read(true).write(true).open(dst)?;
    let len = meta.len();
    let (mut a, mut b) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut off = 0u64;
    while off < len {
        let n = (len - off).min(CHUNK as u64) as usize;
        from.read_exact_at(&mut a[..n], off)?;
        let m = read_up_to(&to, &mut b[..n], off)?;
        if m < n || a[..n] != b[..n] {
            to.write_all_at(&a[..n], off)?;
        }
        off += n as u64;
    }
    if to.metadata()?.len() != len {
        to.set_len(len)?;
    }
    let mode = meta.permissions().mode();
    if to.metadata()?.permissions().mode() != mode {
        to.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Reads what there is of `buf.len()` bytes at `off` (less at the end).
fn read_up_to(f: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read_at(&mut buf[got..], off + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path, files: &[(&str, &[u8])]) {
        for (name, data) in files {
            let p = root.join(name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, data).unwrap();
        }
    }

    fn same(a: &Path, b: &Path) -> bool {
        crate::image::digest(a).unwrap() == crate::image::digest(b).unwrap()
    }

    /// Whatever a check did to the copy (changed bytes, grew or cut a
    /// file, made or removed files and directories), sync undoes it.
    #[test]
    fn undoes_every_kind_of_change() {
        let root = std::env::temp_dir().join(format!("pmem-sweep-mirror.{}", std::process::id()));
        let (from, to) = (root.join("from"), root.join("to"));
        let big: Vec<u8> = (0..3 * CHUNK + 77).map(|i| (i * 7 % 251) as u8).collect();
        tree(&from, &[("pool", &big), ("d/x", b"abc"), ("empty", b"")]);
        std::os::unix::fs::symlink("pool", from.join("link")).unwrap();
        assert!(sync(&from, &to).unwrap());
        assert!(same(&from, &to));
        let mut changed = big.clone();
        changed[CHUNK + 5] ^= 1;
        changed.truncate(2 * CHUNK + 3);
        tree(
            &to,
            &[
                ("pool", &changed),
                ("d/x", b"abcd"),
                ("new", b"n"),
                ("e/f", b""),
            ],
        );
        fs::remove_file(to.join("empty")).unwrap();
        fs::remove_file(to.join("link")).unwrap();
        std::os::unix::fs::symlink("elsewhere", to.join("link")).unwrap();
        fs::set_permissions(to.join("d/x"), fs::Permissions::from_mode(0o600)).unwrap();
        assert!(sync(&from, &to).unwrap());
        assert!(same(&from, &to));
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(&to.join("d/x")), mode(&from.join("d/x")));
        tree(&to, &[("pool", &[big.clone(), vec![1; 10]].concat())]);
        fs::remove_dir_all(to.join("d")).unwrap();
        fs::write(to.join("d"), b"a file where a directory was").unwrap();
        assert!(sync(&from, &to).unwrap());
        assert!(same(&from, &to));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn refuses_special_files() {
        let root =
            std::env::temp_dir().join(format!("pmem-sweep-mirror-fifo.{}", std::process::id()));
        let from = root.join("from");
        fs::create_dir_all(&from).unwrap();
        let fifo = std::ffi::CString::new(from.join("fifo").into_os_string().into_encoded_bytes())
            .unwrap();
        // SAFETY: mkfifo(3) with a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(!sync(&from, &root.join("to")).unwrap());
        fs::remove_dir_all(&root).unwrap();
    }
}
