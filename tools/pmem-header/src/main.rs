//! Writes libpmem.h, as cbindgen renders the extern "C" declarations of the
//! library's src/ffi, to the path given (`make header` gives
//! include/libpmem.h; `make check-header` a scratch file it compares with
//! the committed one).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), None) = (args.next(), args.next()) else {
        eprintln!("usage: pmem-header OUTPUT.h");
        return ExitCode::from(2);
    };
    // This tool lives in tools/pmem-header of the library's workspace.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match generate(&root, &PathBuf::from(out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pmem-header: {e}");
            ExitCode::FAILURE
        }
    }
}

fn generate(root: &Path, out: &Path) -> Result<(), String> {
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml"))?;
    // Only src/ffi is the C surface: parsing its mod.rs (cbindgen follows
    // its `mod` items) keeps internal `pub const`s of other modules out of
    // the header. The header's constants are defined in the core
    // (src/consts.rs, which ffi re-exports), so that file is read first.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/consts.rs"))
        .with_src(root.join("src/ffi/mod.rs"))
        .generate()
        .map_err(|e| format!("cannot generate libpmem.h: {e}"))?;
    // write_to_file leaves a file whose contents are already right alone.
    bindings.write_to_file(out);
    Ok(())
}
