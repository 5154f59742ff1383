//! Work done once when the library is loaded, and undone when it is
//! unloaded.

/// Runs before main() (or at dlopen) through the ELF .init_array, so the
/// environment is read once and hot paths never read it.
extern "C" fn on_load() {
    crate::log::init_from_env();
    crate::cpu::init();
    crate::mode::init_from_env();
}

/// Runs at exit() or dlclose through .fini_array: closes the descriptors
/// opened at load (PMEM_LOG_FILE, PMEM_FIT_REPORT, fit mode's
/// /proc/self/maps) and frees the per-thread
/// error state's key, so a program that dlopens and dlcloses the library
/// in a loop keeps a constant number of descriptors and keys.
extern "C" fn on_unload() {
    crate::log::close_log_file();
    crate::mode::crash::close_report();
    crate::mode::unload();
    crate::error::release_thread_states();
}

#[used]
#[link_section = ".init_array"]
static ON_LOAD: extern "C" fn() = on_load;

#[used]
#[link_section = ".fini_array"]
static ON_UNLOAD: extern "C" fn() = on_unload;
