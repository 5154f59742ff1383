//! The one parser of `/proc/self/maps` lines (and of the area headers of
//! `/proc/self/smaps`, which have the same form). Bytes, not text: a file
//! name may be any bytes but NUL and newline.

/// `start-end perms offset major:minor inode   path`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapsLine<'a> {
    pub start: usize,
    pub end: usize,
    /// `rwxp` or `rwxs`, `-` for a missing permission.
    pub perms: [u8; 4],
    pub offset: u64,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub inode: u64,
    /// The name as the kernel shows it (empty for anonymous memory).
    pub path: &'a [u8],
}

impl MapsLine<'_> {
    pub fn readable(&self) -> bool {
        self.perms[0] == b'r'
    }
    pub fn writable(&self) -> bool {
        self.perms[1] == b'w'
    }
    pub fn executable(&self) -> bool {
        self.perms[2] == b'x'
    }
    pub fn shared(&self) -> bool {
        self.perms[3] == b's'
    }
}

/// Parses one line (without its newline); None if it is not an area line.
pub fn parse_line(line: &[u8]) -> Option<MapsLine<'_>> {
    let mut fields = line.splitn(6, |&b| b == b' ');
    let mut next = || fields.next();
    let (range, perms, offset, dev, inode) = (next()?, next()?, next()?, next()?, next()?);
    let rest = next().unwrap_or(b"");
    let path = &rest[rest.iter().position(|&b| b != b' ').unwrap_or(rest.len())..];
    let (start, end) = split_at(range, b'-')?;
    let (major, minor) = split_at(dev, b':')?;
    Some(MapsLine {
        start: usize::try_from(hex(start)?).ok()?,
        end: usize::try_from(hex(end)?).ok()?,
        perms: perms.try_into().ok()?,
        offset: hex(offset)?,
        dev_major: u32::try_from(hex(major)?).ok()?,
        dev_minor: u32::try_from(hex(minor)?).ok()?,
        inode: std::str::from_utf8(inode).ok()?.parse().ok()?,
        path,
    })
}

/// The area lines of a maps text, in address order.
pub fn lines(text: &[u8]) -> impl Iterator<Item = MapsLine<'_>> {
    text.split(|&b| b == b'\n').filter_map(parse_line)
}

fn split_at(s: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|&b| b == sep)?;
    Some((&s[..i], &s[i + 1..]))
}

fn hex(s: &[u8]) -> Option<u64> {
    u64::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_with_spaces_and_any_bytes() {
        let l = parse_line(b"7f000000-7f002000 rw-s 00003000 fd:01 42   /tmp/a \xff b").unwrap();
        assert_eq!(
            (l.start, l.end, l.offset, l.inode),
            (0x7f00_0000, 0x7f00_2000, 0x3000, 42)
        );
        assert_eq!((l.dev_major, l.dev_minor), (0xfd, 1));
        assert!(l.readable() && l.writable() && !l.executable() && l.shared());
        assert_eq!(l.path, b"/tmp/a \xff b");
        let l = parse_line(b"7ffd0000-7ffd1000 ---p 00000000 00:00 0 ").unwrap();
        assert!(!l.readable() && !l.shared() && l.path.is_empty());
        assert!(parse_line(b"Size:               2048 kB").is_none());
        assert!(parse_line(b"").is_none());
        assert_eq!(
            lines(b"1000-2000 r--p 0 0:0 0\nx\n3000-4000 r--p 0 0:0 0\n").count(),
            2
        );
    }
}
