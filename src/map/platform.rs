//! What the platform says about persistence: auto flush (eADR) and deep flush.
//! (Skeleton: the mapping work reads the nd regions from sysfs.)

use crate::error::Result;

pub fn has_auto_flush() -> Result<bool> {
    Ok(false)
}

pub fn deep_drain(addr: *const u8, len: usize) -> Result<()> {
    crate::persist::msync(addr, len)
}
