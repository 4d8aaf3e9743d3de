//! `preflight lint` (being written).

use std::process::ExitCode;

/// Arguments of `preflight lint`.
#[derive(Debug, clap::Args)]
pub struct LintArgs {}

/// Run `preflight lint`.
pub async fn run(_args: LintArgs) -> ExitCode {
    eprintln!("preflight lint is not available in this build yet");
    ExitCode::from(2)
}
