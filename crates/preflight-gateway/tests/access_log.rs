//! `[server] access_log = PATH`: one `key=value` line per request in the file,
//! written in batches and flushed at shutdown; bad values refused at load
//! with the key named.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use http::StatusCode;
use preflight_gateway::{Config, Gateway};
use preflight_test_kit::cli::TempDir;

const APP: &str = "https://app.example.com";

fn with_access_log(value: &str) -> String {
    BASE.replacen(
        "[server]\n",
        &format!("[server]\naccess_log = \"{value}\"\n"),
        1,
    )
}

#[tokio::test]
async fn a_file_access_log_has_one_line_per_request() {
    let dir = TempDir::new("access-log");
    let up = upstream().await;
    // A relative path: resolved against the configuration file's directory.
    let cfg = config(&with_access_log("access.log"), up.addr, Some(dir.path()));
    let g = preflight_gateway::start(Gateway::new(cfg)).await.unwrap();
    let c = client();
    let (status, _, _) = send(
        &c,
        "OPTIONS",
        url(&g, "/api/users/1"),
        &[("origin", APP), ("access-control-request-method", "PUT")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = send(
        &c,
        "GET",
        url(&g, "/api/users/1"),
        &[("origin", "https://evil.example.net")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let gateway = g.gateway().clone();
    g.shutdown().await;
    gateway.flush_access_log(Duration::from_secs(5));

    let text = std::fs::read_to_string(dir.path().join("access.log")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for line in &lines {
        // 2026-12-01T11:55:02.123Z remote=127.0.0.1:...
        let b = line.as_bytes();
        assert!(
            b.len() > 24 && b[10] == b'T' && b[23] == b'Z' && b[24] == b' ',
            "{line}"
        );
        assert!(line[24..].starts_with(" remote=127.0.0.1:"), "{line}");
        assert!(line.contains(" ms="), "{line}");
    }
    assert!(
        lines[0].contains(
            " method=OPTIONS path=/api/users/1 status=204 route=/api/{*rest} \
             origin=https://app.example.com cors=preflight-allowed why=- ms="
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(
            " method=GET path=/api/users/1 status=200 route=/api/{*rest} \
             origin=https://evil.example.net cors=refused why=\""
        ),
        "{}",
        lines[1]
    );
}

fn refused(value: &str, dir: &Path) -> String {
    let text = with_access_log(value).replace("UP", "127.0.0.1:9");
    match Config::parse(&text, Path::new("test.toml"), dir) {
        Ok(_) => panic!("access_log = {value:?} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_access_log_values_are_refused_at_load() {
    let dir = TempDir::new("access-log-bad");
    let empty = refused("", dir.path());
    assert!(empty.contains("access_log"), "{empty}");
    let missing = refused("no/such/dir/access.log", dir.path());
    assert!(missing.contains("access_log"), "{missing}");
    assert!(missing.contains("does not exist"), "{missing}");
    for ok in ["stderr", "off", "access.log"] {
        let text = with_access_log(ok).replace("UP", "127.0.0.1:9");
        assert!(
            Config::parse(&text, Path::new("test.toml"), dir.path()).is_ok(),
            "{ok}"
        );
    }
}
