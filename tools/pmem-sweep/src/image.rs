//! A crash image's fingerprint: every file a job directory holds after the
//! crashed run, names and contents. Two states that leave the same bytes
//! are one state to the check, which then runs once.

use std::io::Read;
use std::path::Path;

/// A 128-bit digest of `dir`'s tree (names, kinds, contents, link
/// targets), in name order. Not cryptographic: it tells apart the images
/// of one sweep, which nobody crafts to collide.
pub fn digest(dir: &Path) -> std::io::Result<[u64; 2]> {
    let mut h = Hasher::new();
    walk(dir, &mut h)?;
    Ok(h.finish())
}

fn walk(dir: &Path, h: &mut Hasher) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    let mut buf = vec![0u8; 1 << 16];
    for e in entries {
        let kind = e.file_type()?;
        h.bytes(e.file_name().as_encoded_bytes());
        if kind.is_dir() {
            h.word(1);
            walk(&e.path(), h)?;
            h.word(2);
        } else if kind.is_symlink() {
            h.word(3);
            h.bytes(std::fs::read_link(e.path())?.as_os_str().as_encoded_bytes());
        } else {
            h.word(4);
            let mut f = std::fs::File::open(e.path())?;
            let mut len = 0u64;
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                h.bytes(&buf[..n]);
                len += n as u64;
            }
            h.word(len);
        }
    }
    Ok(())
}

/// Two independent multiply-rotate lanes over 8-byte words: a few GB/s,
/// so hashing a pool costs a fraction of checking it.
struct Hasher {
    a: u64,
    b: u64,
}

impl Hasher {
    fn new() -> Self {
        Hasher {
            a: 0x243f_6a88_85a3_08d3,
            b: 0x1319_8a2e_0370_7344,
        }
    }

    fn word(&mut self, w: u64) {
        self.a = (self.a ^ w)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
        self.b = (self.b.rotate_left(17) ^ w).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    }

    /// Any length: whole words, then the tail padded, then the length.
    fn bytes(&mut self, data: &[u8]) {
        let mut chunks = data.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.word(u64::from_le_bytes(tail));
        self.word(data.len() as u64);
    }

    fn finish(mut self) -> [u64; 2] {
        self.word(0x5bd1_e995);
        [self.a ^ (self.b >> 7), self.b ^ (self.a >> 11)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_trees_agree_and_any_change_shows() {
        let root = std::env::temp_dir().join(format!("pmem-sweep-image.{}", std::process::id()));
        let (a, b) = (root.join("a"), root.join("b"));
        for d in [&a, &b] {
            std::fs::create_dir_all(d.join("sub")).unwrap();
            std::fs::write(d.join("pool"), vec![7u8; 100_000]).unwrap();
            std::fs::write(d.join("sub/x"), b"abc").unwrap();
        }
        assert_eq!(digest(&a).unwrap(), digest(&b).unwrap());
        let mut pool = vec![7u8; 100_000];
        pool[65_536 + 3] = 8; // one byte, past the first read
        std::fs::write(b.join("pool"), &pool).unwrap();
        assert_ne!(digest(&a).unwrap(), digest(&b).unwrap());
        std::fs::write(b.join("pool"), vec![7u8; 100_000]).unwrap();
        std::fs::rename(b.join("sub/x"), b.join("sub/y")).unwrap();
        assert_ne!(digest(&a).unwrap(), digest(&b).unwrap(), "a renamed file");
        std::fs::rename(b.join("sub/y"), b.join("sub/x")).unwrap();
        std::fs::write(b.join("sub/x"), b"abc\0").unwrap();
        assert_ne!(digest(&a).unwrap(), digest(&b).unwrap(), "a longer file");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
