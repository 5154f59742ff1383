//! Generates include/libpmem.h from the extern "C" declarations in src/ffi.
//!
//! The header is committed; `make check-header` fails when the committed
//! copy differs from what this produces.

use std::path::PathBuf;

fn main() {
    let crate_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=src/consts.rs");
    let out = match std::env::var_os("PMEM_HEADER_OUT") {
        Some(p) => PathBuf::from(p),
        None => crate_dir.join("include/libpmem.h"),
    };
    println!("cargo:rerun-if-env-changed=PMEM_HEADER_OUT");
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    // Only src/ffi is the C surface: parsing its mod.rs (cbindgen follows
    // its `mod` items) keeps internal `pub const`s of other modules out of
    // the header. The header's constants are defined in the core
    // (src/consts.rs, which ffi re-exports), so that file is read first.
    let builder = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/consts.rs"))
        .with_src(crate_dir.join("src/ffi/mod.rs"));
    match builder.generate() {
        Ok(bindings) => {
            bindings.write_to_file(&out);
        }
        // A syntax error in src/ is reported by rustc itself, more clearly.
        Err(e) => println!("cargo:warning=cbindgen could not generate libpmem.h: {e}"),
    }
}
