//! Printing the doctor's report (`preflight_core::browser::Report`) and its exit
//! status.

use std::process::ExitCode;

use preflight_core::browser::Report;

/// Print as one JSON object (DESIGN.md) or as text.
pub fn print(report: &Report, json: bool) {
    if json {
        match serde_json::to_string_pretty(report) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("error: cannot write JSON: {e}"),
        }
    } else {
        print!("{}", report.to_text());
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
