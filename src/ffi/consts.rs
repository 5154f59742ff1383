//! The constants of PMDK's libpmem.h, for C callers: defined in the core
//! ([`crate::consts`]), which the layers below `ffi` use too.

pub use crate::consts::*;
