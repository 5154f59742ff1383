//! Helpers shared by the tests: the integration tests' `mod common;`, and
//! the crate's unit tests through `#[path]` (src/api, src/map/tests.rs).
// Each test binary uses some of them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A command that runs this test binary again: directly, or under the
/// emulator named in CROSS_TEST_RUNNER (`make check-cross` sets it: under
/// qemu-user a binary of another architecture cannot exec itself).
pub fn self_command() -> Command {
    let exe = std::env::current_exe().expect("the test binary's path");
    let runner = std::env::var("CROSS_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(emulator) => {
            let mut cmd = Command::new(emulator);
            cmd.args(words).arg(exe);
            cmd
        }
        None => Command::new(exe),
    }
}

/// A directory of the test's own under the temp dir (named for the test
/// and the process), removed with its contents when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("pmem-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
