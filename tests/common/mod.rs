//! Helpers shared by the integration tests.

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
