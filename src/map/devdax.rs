//! Device DAX: character devices whose whole extent is persistent memory.
//! Their size and mapping alignment come from sysfs, not from fstat.

use super::platform::Sysfs;
use crate::error::{Error, Result};
use std::path::Path;

/// A Device DAX instance as sysfs describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaxDevice {
    pub rdev: u64,
    pub size: usize,
    /// The device's page size; mappings must start on a multiple of it.
    pub align: usize,
}

/// Describes the character device `rdev`, or fails with EINVAL when it is
/// not Device DAX (PMDK refuses other character devices too).
pub fn probe(sys: &Sysfs, rdev: u64) -> Result<DaxDevice> {
    let dir = sys.dev_dir("char", rdev);
    let subsystem = std::fs::canonicalize(dir.join("subsystem")).map_err(|e| {
        Error::new(
            e.raw_os_error().unwrap_or(libc::EINVAL),
            format!("resolving {}/subsystem", dir.display()),
        )
    })?;
    if subsystem.file_name() != Some("dax".as_ref()) {
        return Err(Error::new(
            libc::EINVAL,
            format!("{} is a character device but not Device DAX", dir.display()),
        ));
    }
    let size = parse_attr(sys, &dir.join("size"))?
        .ok_or_else(|| Error::new(libc::EINVAL, "unable to read Device DAX size"))?;
    let page = crate::persist::page_size();
    let align = match parse_attr(sys, &dir.join("device/align"))? {
        // Older kernels have no align attribute: assume only the page size.
        None => page,
        Some(a) if a.is_power_of_two() && a >= page => a,
        Some(a) => {
            return Err(Error::new(
                libc::EINVAL,
                format!("Device DAX alignment {a} is not a power of two >= page size"),
            ))
        }
    };
    if size == 0 || size % align != 0 {
        return Err(Error::new(
            libc::EINVAL,
            format!("Device DAX size {size} is not a non-zero multiple of its alignment {align}"),
        ));
    }
    Ok(DaxDevice { rdev, size, align })
}

/// A decimal (or 0x-prefixed hexadecimal) number from a sysfs attribute;
/// None when the attribute does not exist, EINVAL when it is garbage.
fn parse_attr(sys: &Sysfs, path: &Path) -> Result<Option<usize>> {
    let text = match sys.read_attr(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::new(
                e.raw_os_error().unwrap_or(libc::EINVAL),
                format!("reading {}", path.display()),
            ))
        }
    };
    let t = text.trim();
    let parsed = match t.strip_prefix("0x") {
        Some(hex) => usize::from_str_radix(hex, 16),
        None => t.parse(),
    };
    parsed.map(Some).map_err(|_| {
        Error::new(
            libc::EINVAL,
            format!("{}: bad number {t:?}", path.display()),
        )
    })
}
