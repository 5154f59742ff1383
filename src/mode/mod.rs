//! Persistence modes: how a flush, drain or msync is carried out.
//!
//! * `flush` (default): cache-line flushes, no hooks installed at all.
//! * `msync`: every flush becomes msync(2) of the pages that hold the range,
//!   for files on storage that is not persistent memory.
//! * `fit` (fault-injection test): files are mapped private copy-on-write and
//!   receive exactly the 64-byte lines that are flushed, so a crash loses what
//!   real hardware could lose; see [`fit`] and [`crash`].
//! * `auto`: msync inside non-pmem mappings this library made, cache-line
//!   flushes elsewhere.
//!
//! One mode serves both APIs (PMDK's and the original 2013 one). It is chosen
//! by `PMEM_PERSIST_MODE` at load, by pmem_msync_mode()/pmem_fit_mode(), or by
//! [`set`]. Mappings made in fit mode stay fit mappings until unmapped, so
//! every mode other than `flush` first routes ranges inside them to the fit
//! engine, and [`set`] refuses `flush` while any are live.

pub mod attr;
mod auto;
pub mod crash;
// Shared with pmem-sweep: the library writes what the tool reads, so each
// uses half of it.
pub mod fit;
mod msync;
#[allow(dead_code)]
pub mod protocol;
// Shared with pmem-sweep too: both pick a point's states the same way.
#[allow(dead_code)]
pub mod strategy;

use crate::error::{Error, Result};
use crate::persist::mode_hook::{self, ModeHooks};
use core::sync::atomic::{AtomicU8, Ordering};

/// A persistence mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    Flush = 0,
    Msync = 1,
    Fit = 2,
    Auto = 3,
}

const ALL: [Mode; 4] = [Mode::Flush, Mode::Msync, Mode::Fit, Mode::Auto];

impl Mode {
    /// The name `PMEM_PERSIST_MODE` uses.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Flush => "flush",
            Mode::Msync => "msync",
            Mode::Fit => "fit",
            Mode::Auto => "auto",
        }
    }

    /// The name as a C string, for pmem_get_attr.
    pub fn c_name(self) -> &'static core::ffi::CStr {
        match self {
            Mode::Flush => c"flush",
            Mode::Msync => c"msync",
            Mode::Fit => c"fit",
            Mode::Auto => c"auto",
        }
    }

    /// Parses a `PMEM_PERSIST_MODE` value (exact, lower case).
    pub fn parse(s: &str) -> Option<Mode> {
        ALL.into_iter().find(|m| m.name() == s)
    }

    fn hooks(self) -> Option<&'static ModeHooks> {
        match self {
            Mode::Flush => None,
            Mode::Msync => Some(&msync::HOOKS),
            Mode::Fit => Some(&fit::HOOKS),
            Mode::Auto => Some(&auto::HOOKS),
        }
    }
}

static CURRENT: AtomicU8 = AtomicU8::new(Mode::Flush as u8);

/// The active mode.
pub fn current() -> Mode {
    ALL[CURRENT.load(Ordering::Acquire) as usize & 3]
}

/// Switches to `mode` for every later flush, drain, msync and mapping.
/// Fails with EBUSY when asked for `flush` while fit mappings are live
/// (their stores would then never reach their files).
pub fn set(mode: Mode) -> Result<()> {
    if mode == Mode::Flush && fit::live_mappings() > 0 {
        return Err(Error::new(
            libc::EBUSY,
            "cannot leave fit mode while fit mappings are live",
        ));
    }
    if mode == Mode::Fit {
        fit::prepare();
    }
    mode_hook::install(mode.hooks());
    CURRENT.store(mode as u8, Ordering::Release);
    Ok(())
}

/// At unload (dlclose): closes what the modes keep open.
pub fn unload() {
    fit::unload();
}

/// Reads `PMEM_PERSIST_MODE` and the `PMEM_FIT_*` variables; called once at load.
pub fn init_from_env() {
    crash::init_from_env();
    if crash::inspecting() {
        fit::report::install();
    }
    let Some(v) = crate::env::var_os("PMEM_PERSIST_MODE") else {
        return;
    };
    match v.to_str().and_then(Mode::parse) {
        // Nothing is mapped yet, so set() cannot fail here.
        Some(mode) => {
            let _ = set(mode);
        }
        None => load_warning(&format!(
            "unknown PMEM_PERSIST_MODE={v:?} (want flush, msync, fit or auto); using flush"
        )),
    }
}

/// The hooks of a mode that maps files shared (every mode but fit): its own
/// flush and msync, an SFENCE drain (that also fences the lines of live fit
/// mappings), and fit mappings still followed to their unmapping.
const fn shared_mode(
    name: &'static str,
    flush: fn(*const u8, usize),
    msync: fn(*const u8, usize) -> Result<()>,
) -> ModeHooks {
    ModeHooks {
        name,
        flush,
        drain: fit::drain,
        msync,
        private_mappings: false,
        on_map: fit::ignore_map,
        unmap: fit::unmap,
        deep_drain: fit::deep_drain_hook,
    }
}

/// A configuration problem found at load: always on stderr, and in the log.
pub(crate) fn load_warning(msg: &str) {
    eprintln!("libpmem: {msg}");
    crate::log_warning!("{msg}");
}

/// Logs a failure of a flush that has no way to report it to its caller.
fn log_failure(r: Result<()>) {
    if let Err(e) = r {
        crate::log_error!("{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in ALL {
            assert_eq!(Mode::parse(m.name()), Some(m));
            assert_eq!(m.c_name().to_str().unwrap(), m.name());
        }
        assert_eq!(Mode::parse("FIT"), None);
        assert_eq!(Mode::parse(""), None);
    }
}
