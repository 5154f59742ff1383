//! auto mode: msync(2) inside non-pmem mappings made by this library
//! (pmem_map, pmem_map_file), cache-line flushes inside pmem mappings and in
//! memory the library did not map.

use super::{fit, lines, log_failure};
use crate::persist::{mode_hook::ModeHooks, msync_pages};

pub static HOOKS: ModeHooks = ModeHooks {
    name: "auto",
    flush,
    drain: lines::fence,
    msync,
    private_mappings: false,
    on_map: fit::ignore_map,
    on_unmap: fit::forget,
};

fn flush(addr: *const u8, len: usize) {
    log_failure(fit::route_lines(addr, len, by_mapping));
}

fn msync(addr: *const u8, len: usize) -> crate::Result<()> {
    fit::route_pages(addr, len, msync_pages)
}

/// Splits the range at the end of the mapping that holds its start: msync
/// for a non-pmem mapping's part, cache-line flush otherwise. A remainder in
/// memory the library did not map is flushed by lines as a whole (the
/// registry cannot say where the next mapping begins).
fn by_mapping(addr: *const u8, len: usize) -> crate::Result<()> {
    let (mut cur, end) = (addr as usize, addr as usize + len);
    while cur < end {
        let Some(m) = crate::map::find(cur as *const u8) else {
            lines::flush(cur as *const u8, end - cur);
            return Ok(());
        };
        let part_end = end.min(m.start + m.len);
        if m.is_pmem {
            lines::flush(cur as *const u8, part_end - cur);
        } else {
            msync_pages(cur as *const u8, part_end - cur)?;
        }
        cur = part_end;
    }
    Ok(())
}
