//! auto mode: msync(2) inside non-pmem mappings made by this library
//! (pmem_map, pmem_map_file), cache-line flushes inside pmem mappings and in
//! memory the library did not map.

use super::{fit, log_failure};
use crate::persist::{flush_lines, mode_hook::ModeHooks, msync_pages};

pub static HOOKS: ModeHooks = super::shared_mode("auto", flush, msync);

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
    let end = crate::range::checked_end("flush", addr, len)?;
    let mut cur = addr as usize;
    while cur < end {
        let Some(m) = crate::map::find(cur as *const u8) else {
            // SAFETY: `[cur, end)` is the rest of the range the hook was
            // given, which its caller guarantees is mapped (ModeHooks::flush).
            unsafe { flush_lines(cur as *const u8, end - cur) };
            return Ok(());
        };
        let part_end = end.min(m.end());
        if m.value.is_pmem() {
            // SAFETY: a part of the hook's range, mapped by its contract.
            unsafe { flush_lines(cur as *const u8, part_end - cur) };
        } else {
            msync_pages(cur as *const u8, part_end - cur)?;
        }
        cur = part_end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;
    use std::time::Instant;

    /// What auto mode adds to every flush is this lookup. Measured with 16
    /// registered mappings; `cargo test --release lookup -- --nocapture`
    /// prints the figure. Fails if a lookup is wrong or pathologically slow.
    #[test]
    fn mapping_lookup_is_right_and_cheap() {
        let dir = std::env::temp_dir().join(format!("pmem-auto-lookup.{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let maps: Vec<_> = (0..16)
            .map(|i| {
                let path = CString::new(dir.join(format!("f{i}")).to_str().unwrap()).unwrap();
                crate::map::map_file(&path, 1 << 16, crate::consts::PMEM_FILE_CREATE, 0o600)
                    .unwrap()
            })
            .collect();
        let heap = [0u8; 64];
        let calls = 1_000_000usize;
        let start = Instant::now();
        let mut found = 0;
        for i in 0..calls {
            let m = &maps[i % maps.len()];
            let probe = if i % 2 == 0 {
                m.addr.wrapping_add(4096).cast_const()
            } else {
                heap.as_ptr()
            };
            found += crate::map::find(std::hint::black_box(probe))
                .is_some_and(|f| f.start == m.addr as usize && f.len == m.len)
                as usize;
        }
        let ns = start.elapsed().as_nanos() as f64 / calls as f64;
        eprintln!("auto mode lookup: {ns:.1} ns/call (16 mappings, half the probes outside)");
        assert_eq!(found, calls / 2);
        assert!(ns < 2000.0, "a lookup takes {ns} ns");
        for m in maps {
            // SAFETY: nothing refers to the mappings any more.
            unsafe { crate::map::unmap(m.addr, m.len) }.unwrap();
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
