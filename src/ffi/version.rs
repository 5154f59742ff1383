//! pmem_check_version, pmem_errormsg.

use super::consts::{PMEM_MAJOR_VERSION, PMEM_MINOR_VERSION};
use crate::error::{last_message_ptr, MsgBuf};
use crate::log::Level;
use libc::{c_char, c_uint};

/// Checks that this library provides API `major_required`.`minor_required`
/// or a compatible later minor. Returns NULL if so, else a message.
#[no_mangle]
pub extern "C" fn pmem_check_version(
    major_required: c_uint,
    minor_required: c_uint,
) -> *const c_char {
    let mismatch = if major_required != PMEM_MAJOR_VERSION {
        MsgBuf::format(format_args!(
            "libpmem major version mismatch (need {major_required}, found {PMEM_MAJOR_VERSION})"
        ))
    } else if minor_required > PMEM_MINOR_VERSION {
        MsgBuf::format(format_args!(
            "libpmem minor version mismatch (need {minor_required}, found {PMEM_MINOR_VERSION})"
        ))
    } else {
        return core::ptr::null();
    };
    super::report_text(&mismatch, Level::PMEM_LOG_LEVEL_ERROR);
    last_message_ptr()
}

/// The calling thread's last error message; never NULL.
#[no_mangle]
pub extern "C" fn pmem_errormsg() -> *const c_char {
    last_message_ptr()
}
