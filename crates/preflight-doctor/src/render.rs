//! Printing a doctor's report (`preflight_core::browser::Report`) and its exit
//! status; an error of a doctor command, printed the same way for all three.

use std::io::{ErrorKind, Write};
use std::process::ExitCode;

use crate::report::Report;
use serde::Serialize;

/// Print as one JSON object or as text.
pub fn print(report: &Report, json: bool) {
    if json {
        print_json(report);
    } else {
        out(&report.to_text());
    }
}

/// Write `text` to stdout. A reader that has gone (`| head`, a pager quit
/// early) is not an error of the command: the rest is dropped and the exit
/// status stays the verdict's. `print!` would panic there, since Rust ignores
/// SIGPIPE and the write fails with EPIPE.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() != ErrorKind::BrokenPipe {
            eprintln!("error: cannot write to stdout: {e}");
        }
    }
}

/// Print `--json` output: one pretty-printed JSON object.
pub(crate) fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => out(&format!("{s}\n")),
        Err(e) => eprintln!("error: cannot write JSON: {e}"),
    }
}

/// Exit 0 when allowed, 1 when blocked.
pub fn exit_code(report: &Report) -> ExitCode {
    if report.is_allowed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Print the outcome of `check` or `explain` and give its exit status: the
/// report (0 allowed, 1 blocked), or an error (2) as one line on stderr, or
/// as a JSON object with `--json`.
pub(crate) fn finish(result: Result<Report, String>, json: bool) -> ExitCode {
    match result {
        Ok(r) => {
            print(&r, json);
            exit_code(&r)
        }
        Err(message) => fail(&message, json),
    }
}

/// An error of a doctor command (`check`, `explain`, `audit`): one line on
/// stderr, or a JSON object with `--json`; exit 2.
pub(crate) fn fail(message: &str, json: bool) -> ExitCode {
    if json {
        out(&format!(
            "{}\n",
            serde_json::json!({"verdict": "error", "message": message})
        ));
    } else {
        eprintln!("error: {message}");
    }
    ExitCode::from(2)
}
