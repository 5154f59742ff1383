//! Work done once when the library is loaded.

/// Runs before main() (or at dlopen) through the ELF .init_array, so the
/// environment is read once and hot paths never read it.
extern "C" fn on_load() {
    crate::log::init_from_env();
    crate::cpu::init();
    crate::mode::init_from_env();
}

#[used]
#[link_section = ".init_array"]
static ON_LOAD: extern "C" fn() = on_load;
