//! `preflight check` (being written).

use std::process::ExitCode;

/// Arguments of `preflight check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

/// Run `preflight check`.
pub async fn run(_args: CheckArgs) -> ExitCode {
    eprintln!("preflight check is not available in this build yet");
    ExitCode::from(2)
}
