//! The hand-written include/pmem_attr.h against src/ffi/attr.rs, as libc's
//! ctest checks its bindings: a C file of static assertions, written from
//! Rust's size_of/align_of/offset_of and field types, must compile against
//! the header. A field added, moved or retyped on one side only fails it.

mod common;

use libc::{c_char, c_int, size_t};
use pmem::testing::ffi::pmem_attr;
use std::mem::{align_of, offset_of, size_of};
use std::process::Command;

/// The C spelling of a field type.
trait CType {
    const C: &'static str;
}
impl CType for size_t {
    const C: &'static str = "size_t";
}
impl CType for c_int {
    const C: &'static str = "int";
}
impl CType for *const c_char {
    const C: &'static str = "const char *";
}

fn c_type_of<T: CType>(_: fn(&pmem_attr) -> &T) -> (&'static str, usize) {
    (T::C, size_of::<T>())
}

/// One C static assertion per fact of each field: offset, size, type.
macro_rules! field_asserts {
    ($($field:ident),* $(,)?) => {{
        let mut c = String::new();
        $(
            let (ty, size) = c_type_of(|a| &a.$field);
            let f = stringify!($field);
            c += &format!(
                "_Static_assert(offsetof(struct pmem_attr, {f}) == {}, \"{f} offset\");\n\
                 _Static_assert(sizeof(((struct pmem_attr *)0)->{f}) == {size}, \"{f} size\");\n\
                 _Static_assert(__builtin_types_compatible_p(__typeof__(((struct pmem_attr *)0)->{f}), {ty}), \"{f} type\");\n",
                offset_of!(pmem_attr, $field),
            );
        )*
        c
    }};
}

fn layout_c() -> String {
    let mut c = String::from("#include <stddef.h>\n#include \"pmem_attr.h\"\n");
    c += &format!(
        "_Static_assert(sizeof(struct pmem_attr) == {}, \"size\");\n\
         _Static_assert(_Alignof(struct pmem_attr) == {}, \"alignment\");\n",
        size_of::<pmem_attr>(),
        align_of::<pmem_attr>()
    );
    c + &field_asserts!(
        flush_granularity,
        stores_durable_at_fence,
        atomic_store_size,
        page_size,
        is_pmem,
        flush_instruction,
        copy_path,
        movnt_threshold,
        persist_mode,
    )
}

#[test]
fn pmem_attr_h_matches_the_rust_struct() {
    let dir = common::TempDir::new("attr-layout");
    let src = dir.join("layout.c");
    std::fs::write(&src, layout_c()).unwrap();
    let include = concat!(env!("CARGO_MANIFEST_DIR"), "/include");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = match Command::new(&cc)
        .args(["-std=gnu11", "-fsyntax-only", "-Werror", "-I", include])
        .arg(&src)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            let why =
                format!("pmem_attr_h_matches_the_rust_struct: SKIPPED: no C compiler ({cc}: {e})");
            assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{why}");
            eprintln!("{why}");
            return;
        }
    };
    assert!(
        out.status.success(),
        "include/pmem_attr.h disagrees with src/ffi/attr.rs:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
