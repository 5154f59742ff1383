//! Platform attributes of a range (pmem_get_attr, include/pmem_attr.h).

use crate::error::Result;
use core::ffi::CStr;

/// What pmem_get_attr reports, before conversion to the C struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributes {
    pub flush_granularity: usize,
    pub stores_durable_at_fence: bool,
    pub atomic_store_size: usize,
    pub page_size: usize,
    pub is_pmem: bool,
    pub flush_instruction: &'static CStr,
    pub copy_path: &'static CStr,
    pub movnt_threshold: usize,
    pub persist_mode: &'static CStr,
}

/// The largest aligned store never torn, also across power failure, that
/// the copy routines keep whole (8 bytes; 4 on 32-bit x86).
const ATOMIC_STORE: usize = crate::arch::ATOMIC_STORE;

/// The attributes of `[addr, addr + len)`. A threshold of usize::MAX means
/// non-temporal stores are off (PMEM_NO_MOVNT=1).
pub fn get(addr: *const u8, len: usize) -> Result<Attributes> {
    let eadr = crate::sysfs::has_auto_flush()?;
    let cpu = crate::cpu::config();
    Ok(Attributes {
        flush_granularity: crate::persist::CACHELINE,
        stores_durable_at_fence: eadr,
        atomic_store_size: ATOMIC_STORE,
        page_size: mapping_page_size(addr).unwrap_or_else(crate::persist::page_size),
        is_pmem: crate::map::is_pmem(addr, len),
        flush_instruction: cpu.flush.c_name(),
        copy_path: cpu.isa.c_name(),
        movnt_threshold: if cpu.movnt {
            cpu.movnt_threshold
        } else {
            usize::MAX
        },
        persist_mode: super::current().c_name(),
    })
}

/// The kernel page size of the mapping holding `addr` (hugetlbfs and Device
/// DAX mappings have larger ones), from /proc/self/smaps.
fn mapping_page_size(addr: *const u8) -> Option<usize> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    page_size_in_smaps(&smaps, addr as usize)
}

fn page_size_in_smaps(smaps: &str, addr: usize) -> Option<usize> {
    let mut inside = false;
    for line in smaps.lines() {
        if let Some(area) = crate::map::maps_text::parse_line(line.as_bytes()) {
            inside = area.start <= addr && addr < area.end;
            continue;
        }
        if inside {
            if let Some(kb) = line.strip_prefix("KernelPageSize:") {
                let kb = kb.trim().strip_suffix("kB")?.trim().parse::<usize>().ok()?;
                return Some(kb * 1024);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_page_size_of_the_right_mapping() {
        let smaps = "\
7f000000-7f200000 rw-s 00000000 00:05 12 /dev/dax0.0
Size:               2048 kB
KernelPageSize:     2048 kB
7f200000-7f201000 rw-p 00000000 00:00 0
Size:                  4 kB
KernelPageSize:        4 kB
";
        // Addresses that fit 32 bits, so the test runs on i686 too.
        assert_eq!(page_size_in_smaps(smaps, 0x7f10_0000), Some(2 << 20));
        assert_eq!(page_size_in_smaps(smaps, 0x7f20_0fff), Some(4096));
        assert_eq!(page_size_in_smaps(smaps, 0x7f20_1000), None);
    }

    #[test]
    fn attributes_of_heap_memory() {
        let v = [0u8; 64];
        let a = get(v.as_ptr(), v.len()).unwrap();
        assert_eq!(a.page_size, crate::persist::page_size());
        assert!(!a.is_pmem);
        assert_eq!(a.flush_granularity, 64);
    }
}
