//! msync mode: every flush is msync(2) of the pages holding the range, for
//! memory-mapped files on storage that is not persistent memory.

use super::{fit, log_failure};
use crate::persist::{mode_hook::ModeHooks, msync_pages};

pub static HOOKS: ModeHooks = super::shared_mode("msync", flush, msync);

fn flush(addr: *const u8, len: usize) {
    log_failure(msync(addr, len));
}

fn msync(addr: *const u8, len: usize) -> crate::Result<()> {
    fit::route_pages(addr, len, msync_pages)
}
