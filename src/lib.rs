//! A drop-in replacement for PMDK's `libpmem.so.1`, written in Rust.
//!
//! Rust callers use [`api`] (a safe [`api::PmemFile`]); C callers the
//! `extern "C"` functions of `ffi`, exported by `libpmem.so.1` and
//! declared in `include/libpmem.h`. Everything else is internal.
//!
//! Dependencies run one way: a module imports only from its own layer and
//! those below it (`tests/layers.sh`, run by `make check`, enforces this
//! with the same numbers). Lowest first:
//!
//! 0. what every layer shares: `env` (the one reader of `PMEM_*`
//!    variables, and of the files they name: nothing in a privileged
//!    program), `error` and `log`, `consts` (libpmem.h's
//!    flags, re-exported by `ffi`), `range` (checked address arithmetic)
//!    and `range_map` (the ordered map of address ranges);
//! 1. platform facts: `arch` (everything that names an instruction set;
//!    nothing above it says `cfg(target_arch)`), `policy` (the per-CPU
//!    table), `sysfs` (eADR) and `cpu` (the load-time choice of
//!    instructions);
//! 2. `persist` (flush, fence, drain, msync, deep flush);
//! 3. `memops` (memmove, memcpy, memset: temporal or streaming stores);
//! 4. `map` (files, mappings, the registry of mapped ranges, deep drain)
//!    and `mode` (the msync, fit and auto persistence modes, which plug
//!    into `persist` through its mode hooks);
//! 5. `ffi` (the C surface), [`api`] (the Rust surface), `init` (the ELF
//!    constructor and destructor) and `testing`.

pub mod api;
mod arch;
mod consts;
mod cpu;
mod env;
mod error;
mod ffi;
mod init;
mod log;
mod map;
mod memops;
mod mode;
mod persist;
mod policy;
mod range;
mod range_map;
mod sysfs;
// The tests' helpers (TempDir, self_command), shared with tests/*.rs.
#[cfg(test)]
#[path = "../tests/common/mod.rs"]
mod test_common;

pub use error::{Error, Result};
pub(crate) use log::{__function_name, log_at, log_error, log_notice, log_warning};

/// Internals the integration tests (`tests/*.rs`) drive directly, under
/// the paths they have inside the crate. Not an API: nothing here is
/// stable, and most of it takes raw pointers.
#[doc(hidden)]
pub mod testing {
    pub mod consts {
        pub use crate::consts::*;
    }
    pub mod cpu {
        pub use crate::cpu::{detect, policy_key, Config, CopyIsa, FlushKind};
    }
    pub mod ffi {
        pub use crate::ffi::attr::pmem_attr;
    }
    pub mod map {
        pub use crate::map::{find, is_pmem, map_fd, map_file, unmap};
    }
    pub mod memops {
        pub use crate::memops::{memmove, memset, routines, Routines, Stores};
    }
    pub mod mode {
        pub mod attr {
            pub use crate::mode::attr::get;
        }
    }
    pub mod persist {
        pub use crate::persist::{
            deep_flush, drain, fence, flush, instruction_choice, mode_hook, msync, page_size,
            persist, InstructionChoice,
        };
    }
    pub mod policy {
        pub use crate::policy::{for_cpu, ALL, AMD_FAM19, PMDK};
    }
    pub mod sysfs {
        pub use crate::sysfs::has_auto_flush;
    }
}
