//! pmem_log_set_function, pmem_log_set_threshold, pmem_log_get_threshold.

use super::fail;
use crate::error::Error;
use crate::log::{self as logging, pmem_log_threshold, Level, LogFn};
use libc::c_int;

/// What C calls `pmem_log_function`: only ever used behind a pointer.
#[repr(C)]
pub struct PmemLogFunction {
    _opaque: [u8; 0],
}

/// C passes enum values as plain ints; they are range-checked before use.
pub type LogThresholdArg = c_int;
pub type LogLevelArg = c_int;

fn threshold_from_c(t: LogThresholdArg) -> Option<pmem_log_threshold> {
    match t {
        0 => Some(pmem_log_threshold::PMEM_LOG_THRESHOLD),
        1 => Some(pmem_log_threshold::PMEM_LOG_THRESHOLD_AUX),
        _ => None,
    }
}

/// Sets the function that receives log messages; NULL
/// (`PMEM_LOG_USE_DEFAULT_FUNCTION`) restores the built-in one.
#[no_mangle]
pub extern "C" fn pmem_log_set_function(log_function: *mut PmemLogFunction) -> c_int {
    let f = if log_function.is_null() {
        None
    } else {
        // SAFETY: C's pmem_log_function* is a pointer to a function of the
        // LogFn signature; non-null checked above.
        Some(unsafe { core::mem::transmute::<*mut PmemLogFunction, LogFn>(log_function) })
    };
    logging::set_function(f);
    0
}

/// Sets a threshold. Fails with EINVAL for an unknown threshold or level.
#[no_mangle]
pub extern "C" fn pmem_log_set_threshold(threshold: LogThresholdArg, value: LogLevelArg) -> c_int {
    let Some(t) = threshold_from_c(threshold) else {
        return fail(
            Error::new(
                libc::EINVAL,
                format!("pmem_log_set_threshold: invalid threshold {threshold}"),
            ),
            -1,
        );
    };
    let Some(level) = Level::from_c(value) else {
        return fail(
            Error::new(
                libc::EINVAL,
                format!("pmem_log_set_threshold: invalid level {value}"),
            ),
            -1,
        );
    };
    logging::set_threshold(t, level);
    0
}

/// Reads a threshold into `*value`. Fails with EINVAL for an unknown
/// threshold or a NULL `value`.
///
/// # Safety
/// `value`, if not NULL, must be writable.
#[no_mangle]
pub unsafe extern "C" fn pmem_log_get_threshold(
    threshold: LogThresholdArg,
    value: *mut LogLevelArg,
) -> c_int {
    let Some(t) = threshold_from_c(threshold) else {
        return fail(
            Error::new(
                libc::EINVAL,
                format!("pmem_log_get_threshold: invalid threshold {threshold}"),
            ),
            -1,
        );
    };
    if value.is_null() {
        return fail(super::null_arg("pmem_log_get_threshold", "value"), -1);
    }
    // SAFETY: non-null, and the caller's contract says writable.
    unsafe { *value = logging::threshold(t) as LogLevelArg };
    0
}
