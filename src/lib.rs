//! A drop-in replacement for PMDK's `libpmem.so.1`, written in Rust.
//!
//! The C surface lives in [`ffi`]; everything below it speaks `Result`.
//! Data flows one way: `ffi` -> `map` (files and mappings) -> `persist`
//! (flush, fence, drain) -> `memops` (copies), with `cpu` choosing the
//! instructions once at load (from `policy`'s table) and `error`/`log`
//! reporting failures. Everything that names an instruction set is in
//! `arch`, at the bottom; nothing above it says `cfg(target_arch)`.

pub mod api;
mod arch;
pub mod cpu;
pub mod error;
pub mod ffi;
mod init;
pub mod log;
pub mod map;
pub mod memops;
pub mod mode;
pub mod persist;
pub mod policy;

pub use error::{Error, Result};
