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
    let out = match std::env::var_os("PMEM_HEADER_OUT") {
        Some(p) => PathBuf::from(p),
        None => crate_dir.join("include/libpmem.h"),
    };
    println!("cargo:rerun-if-env-changed=PMEM_HEADER_OUT");
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    // Only src/ffi is the C surface: parsing just its files keeps internal
    // `pub const`s of other modules out of the header.
    let mut builder = cbindgen::Builder::new().with_config(config);
    let mut files: Vec<PathBuf> = std::fs::read_dir(crate_dir.join("src/ffi"))
        .expect("src/ffi exists")
        .map(|e| e.expect("readable src/ffi").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    for f in files {
        builder = builder.with_src(f);
    }
    match builder.generate() {
        Ok(bindings) => {
            bindings.write_to_file(&out);
        }
        // A syntax error in src/ is reported by rustc itself, more clearly.
        Err(e) => println!("cargo:warning=cbindgen could not generate libpmem.h: {e}"),
    }
}
