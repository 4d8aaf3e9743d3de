//! `preflight serve` (being written).

use std::process::ExitCode;

/// Arguments of `preflight serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {}

/// Run `preflight serve`.
pub async fn run(_args: ServeArgs) -> ExitCode {
    eprintln!("preflight serve is not available in this build yet");
    ExitCode::from(2)
}
