//! The commands that replay one state: through pmem-sweep, and by hand
//! with every variable the run needs.

use crate::states::State;
use std::ffi::OsString;

pub struct Reproducer {
    /// --setup/--check and the program, as given.
    sweep_args: String,
    /// The program with its path resolved.
    program: String,
    setup: Option<String>,
    /// The check as a shell command line.
    check: Option<String>,
    /// `< FILE`, or empty when the runs read no input.
    stdin: String,
    /// NAME=VALUE words every command of a run by hand needs.
    env: String,
}

impl Reproducer {
    /// `stdin`: how to name the input (a file, or INPUT); `env`: the
    /// variables of every command.
    pub fn new(
        o: &crate::args::Options,
        program: &[OsString],
        stdin: Option<&str>,
        env: &[(String, String)],
    ) -> Self {
        let mut words = Vec::new();
        let flags = [
            ("--setup", &o.setup),
            ("--check", &o.check),
            ("--check-server", &o.check_server),
        ];
        for (flag, v) in flags {
            if let Some(v) = v {
                words.push(flag.to_string());
                words.push(quote(v));
            }
        }
        words.push("--".into());
        words.extend(o.program.iter().map(|a| quote(&a.to_string_lossy())));
        let program = program.iter().map(|a| quote(&a.to_string_lossy()));
        let stdin = stdin.map_or(String::new(), |f| format!(" < {}", quote(f)));
        let env: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .collect();
        Reproducer {
            sweep_args: words.join(" ") + &stdin,
            program: program.collect::<Vec<_>>().join(" "),
            setup: o.setup.clone(),
            check: match (&o.check, &o.check_server) {
                (Some(c), _) => Some(format!("sh -c {}", quote(c))),
                // A server judges the directory it reads, then ends at EOF.
                (None, Some(c)) => Some(format!("echo \"$PWD\" | sh -c {}", quote(c))),
                (None, None) => None,
            },
            stdin,
            env: env.join(" "),
        }
    }

    pub fn sweep(&self, s: &State) -> String {
        let state = match &s.flips {
            crate::protocol::Flips::None => String::new(),
            f => format!(" --state {f}"),
        };
        format!(
            "pmem-sweep --only {}{state} {}",
            s.crash_at(),
            self.sweep_args
        )
    }

    /// The run by hand without a crash (fit mode: only flushed lines reach
    /// the files), for a program whose check fails even then.
    pub fn uncrashed(&self) -> String {
        self.line(0, "PMEM_PERSIST_MODE=fit".into())
    }

    /// One shell line, run in an empty directory: setup, the program
    /// crashed in `s`, then the check, whose status is the line's.
    pub fn by_hand(&self, s: &State) -> String {
        let crash = format!(
            "PMEM_PERSIST_MODE=fit PMEM_FIT_CRASH_AT={} PMEM_FIT_CRASH_STATE={}",
            s.crash_at(),
            s.flips
        );
        self.line(s.point, crash)
    }

    fn line(&self, point: u64, mode: String) -> String {
        let s = State::base(point);
        let mut parts = vec![format!(
            "export PMEM_SWEEP_DIR=\"$PWD\" PMEM_SWEEP_POINT={}{}{}",
            s.point,
            if self.env.is_empty() { "" } else { " " },
            self.env
        )];
        if let Some(setup) = &self.setup {
            parts.push(format!("sh -c {}", quote(setup)));
        }
        let mut line = format!("( {}", parts.join("; "));
        line += &format!("; {mode} {}{}", self.program, self.stdin);
        if let Some(check) = &self.check {
            line += &format!("; {check}");
        }
        line + " )"
    }
}

/// Shell-quotes `s` unless it is plainly safe.
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./=:,+-".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_the_shell() {
        assert_eq!(quote("./prog"), "./prog");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn the_run_by_hand_names_everything_it_needs() {
        let o = crate::args::parse(
            [
                "--setup",
                "cp /t pool",
                "--check",
                "ck pool",
                "--",
                "p",
                "x",
            ]
            .iter()
            .map(OsString::from),
        )
        .unwrap();
        let env = [
            ("LD_LIBRARY_PATH".to_string(), "/l".to_string()),
            ("PMEM_IS_PMEM_FORCE".to_string(), "1".to_string()),
        ];
        let r = Reproducer::new(&o, &o.program, Some("/w/load"), &env);
        let s = State {
            point: 3,
            tear: 0,
            flips: crate::protocol::Flips::Only(vec![(1, 1)]),
        };
        assert_eq!(
            r.by_hand(&s),
            "( export PMEM_SWEEP_DIR=\"$PWD\" PMEM_SWEEP_POINT=3 LD_LIBRARY_PATH=/l \
             PMEM_IS_PMEM_FORCE=1; sh -c 'cp /t pool'; PMEM_PERSIST_MODE=fit \
             PMEM_FIT_CRASH_AT=3 PMEM_FIT_CRASH_STATE=only:1 p x < /w/load; sh -c 'ck pool' )"
        );
        assert_eq!(
            r.sweep(&s),
            "pmem-sweep --only 3 --state only:1 --setup 'cp /t pool' --check 'ck pool' -- p x < /w/load"
        );
    }
}
