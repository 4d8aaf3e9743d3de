//! Starting a real gateway for a browser test: its configuration parsed as
//! the file `name` would be, then started, within 10 s.

use std::path::Path;
use std::time::Duration;

use preflight_gateway::{Config, Gateway, RunningGateway};

/// Parse `text` as the configuration file `name` and start the gateway;
/// the test fails when the configuration is refused or the start takes
/// more than 10 s.
pub async fn start_gateway(text: &str, name: &str) -> RunningGateway {
    let config = Config::parse(text, Path::new(name), Path::new("."))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    tokio::time::timeout(
        Duration::from_secs(10),
        preflight_gateway::start(Gateway::new(config)),
    )
    .await
    .expect("the gateway starts in 10 s")
    .expect("the gateway starts")
}
