//! The constants of PMDK's libpmem.h, with the same names and values.
//!
//! Defined here, below every layer that takes them (`map`, `memops`, `api`),
//! and re-exported by `ffi::consts`. cbindgen reads this file beside
//! `src/ffi` (tools/pmem-header), so they still appear in include/libpmem.h.

use libc::{c_int, c_uint};

/// Smallest part size PMDK's pool tools use (2 MiB).
pub const PMEM_MIN_PART: usize = (1024 * 1024 * 2) as usize;

/// pmem_map_file: create the file if missing (and size it to len).
pub const PMEM_FILE_CREATE: c_int = 1 << 0;
/// pmem_map_file: with CREATE, fail if the file exists.
pub const PMEM_FILE_EXCL: c_int = 1 << 1;
/// pmem_map_file: with CREATE, size the file with ftruncate, not posix_fallocate.
pub const PMEM_FILE_SPARSE: c_int = 1 << 2;
/// pmem_map_file: create an unnamed temporary file in the directory `path`.
pub const PMEM_FILE_TMPFILE: c_int = 1 << 3;

/// pmem_memmove & co.: skip the final drain.
pub const PMEM_F_MEM_NODRAIN: c_uint = 1 << 0;
/// pmem_memmove & co.: use non-temporal stores.
pub const PMEM_F_MEM_NONTEMPORAL: c_uint = 1 << 1;
/// pmem_memmove & co.: use temporal stores.
pub const PMEM_F_MEM_TEMPORAL: c_uint = 1 << 2;
/// pmem_memmove & co.: use write-combining stores (non-temporal here).
pub const PMEM_F_MEM_WC: c_uint = 1 << 3;
/// pmem_memmove & co.: use write-back stores (temporal here).
pub const PMEM_F_MEM_WB: c_uint = 1 << 4;
/// pmem_memmove & co.: do not flush (the caller will).
pub const PMEM_F_MEM_NOFLUSH: c_uint = 1 << 5;
/// Every flag pmem_memmove & co. accept.
pub const PMEM_F_MEM_VALID_FLAGS: c_uint = PMEM_F_MEM_NODRAIN
    | PMEM_F_MEM_NONTEMPORAL
    | PMEM_F_MEM_TEMPORAL
    | PMEM_F_MEM_WC
    | PMEM_F_MEM_WB
    | PMEM_F_MEM_NOFLUSH;

/// The libpmem API version this library implements.
pub const PMEM_MAJOR_VERSION: c_uint = 1;
pub const PMEM_MINOR_VERSION: c_uint = 1;
