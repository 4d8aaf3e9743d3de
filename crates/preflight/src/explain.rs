//! `preflight explain` (being written).

use std::process::ExitCode;

/// Arguments of `preflight explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {}

/// Run `preflight explain`.
pub async fn run(_args: ExplainArgs) -> ExitCode {
    eprintln!("preflight explain is not available in this build yet");
    ExitCode::from(2)
}
