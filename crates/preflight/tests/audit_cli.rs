//! `preflight audit` against small local servers with known-bad CORS policies
//!, a correct one (the real gateway), and no server at all.
//!
//! Each server answers every request with the headers its policy gives for
//! the request's Origin; the policy also gets the server's own origin, so that
//! naive string checks (starts-with, ends-with) are relative to 127.0.0.1:PORT.

use std::ops::Deref;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use preflight_test_kit::{Reply, Server};
use serde_json::Value;

/// (Origin sent or "", the server's own origin) -> response headers.
type Policy = fn(&str, &str) -> Vec<(&'static str, String)>;

/// A server of the test kit answering by a policy; derefs to its origin.
struct Served {
    origin: String,
    _server: Server,
}

impl Deref for Served {
    type Target = str;
    fn deref(&self) -> &str {
        &self.origin
    }
}

impl std::fmt::Display for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.origin)
    }
}

/// Serve `policy` on 127.0.0.1:0 in the background, until dropped.
fn serve(policy: Policy) -> Served {
    let own: Arc<OnceLock<String>> = Arc::default();
    let me = own.clone();
    let server = Server::start(move |req| {
        let origin = req.header("origin").unwrap_or("");
        let own = me.get().map(String::as_str).unwrap_or_default();
        Reply::ok("{}").headers(policy(origin, own))
    })
    .expect("the test server starts");
    let origin = server.origin();
    let _ = own.set(origin.clone());
    Served {
        origin,
        _server: server,
    }
}

fn audit(args: &[&str]) -> Output {
    preflight_test_kit::cli::run(
        Command::new(env!("CARGO_BIN_EXE_preflight"))
            .arg("audit")
            .args(args)
            .args(["--timeout", "5"]),
    )
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn finding<'a>(json: &'a Value, class: &str) -> Option<&'a Value> {
    json["findings"]
        .as_array()?
        .iter()
        .find(|f| f["class"] == class)
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn echo(origin: &str) -> Vec<(&'static str, String)> {
    vec![
        ("access-control-allow-origin", origin.to_string()),
        ("access-control-allow-credentials", "true".to_string()),
        ("vary", "Origin".to_string()),
    ]
}

#[test]
fn reflecting_any_origin_with_credentials_is_high() {
    let url = serve(|origin, _| {
        if origin.is_empty() {
            vec![]
        } else {
            echo(origin)
        }
    });
    let out = audit(&[&url, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json = json_of(&out);
    assert_eq!(json["verdict"], "findings");
    assert_eq!(json["target"], format!("{url}/"));
    let f = finding(&json, "reflect_origin").expect("reflect_origin finding");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["origin_sent"], "http://evil.example");
    assert_eq!(f["acao"], "http://evil.example");
    assert_eq!(f["credentials"], true);
    for key in ["message", "fix"] {
        assert!(f[key].as_str().is_some_and(|s| !s.is_empty()), "{key}");
    }
    assert_eq!(
        finding(&json, "trust_null").expect("null")["severity"],
        "high"
    );
    // Covered by reflect_origin: not repeated as findings.
    assert!(finding(&json, "prefix_match").is_none());
    let probes = json["probes"].as_array().expect("probes");
    assert_eq!(probes[0]["class"], "baseline");
    let reflect = probes
        .iter()
        .find(|p| p["class"] == "reflect_origin")
        .expect("reflect probe");
    assert_eq!(reflect["result"], "finding");
    assert_eq!(reflect["get"]["status"], 200);
    assert_eq!(reflect["get"]["acao"][0], "http://evil.example");
    assert_eq!(reflect["preflight"]["acac"], "true");
    assert!(probes.len() < 50, "bounded: {}", probes.len());

    // The text form: one line per probe, then the findings with a fix.
    let out = audit(&[&url]);
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out);
    assert!(t.contains("FINDING  reflect_origin"), "{t}");
    assert!(t.contains("HIGH"), "{t}");
    assert!(t.contains("allow_origins = [\""), "{t}");
}

#[test]
fn a_starts_with_check_is_a_prefix_bypass() {
    let url = serve(|origin, own| {
        if origin.starts_with(own) {
            echo(origin)
        } else {
            vec![("vary", "Origin".to_string())]
        }
    });
    let out = audit(&[&url, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json = json_of(&out);
    assert!(finding(&json, "reflect_origin").is_none(), "{json:#}");
    let f = finding(&json, "prefix_match").expect("prefix_match");
    assert_eq!(f["origin_sent"], format!("{url}.evil.example"));
    assert_eq!(f["severity"], "high");
    assert!(finding(&json, "special_characters_bypass").is_some());
    assert!(finding(&json, "trust_null").is_none());
}

#[test]
fn a_starts_with_check_on_the_trusted_origin_is_found_too() {
    let url = serve(|origin, _| {
        if origin.starts_with("https://app.example.com") {
            echo(origin)
        } else {
            vec![("vary", "Origin".to_string())]
        }
    });
    let out = audit(&[&url, "--origin", "https://app.example.com", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json = json_of(&out);
    let f = finding(&json, "prefix_match").expect("prefix_match");
    assert_eq!(f["origin_sent"], "https://app.example.com.evil.example");
    assert_eq!(f["severity"], "high");
}

#[test]
fn an_ends_with_check_is_a_suffix_bypass() {
    let url = serve(|origin, own| {
        let host = own.trim_start_matches("http://");
        if origin.ends_with(host) {
            vec![
                ("access-control-allow-origin", origin.to_string()),
                ("vary", "Origin".to_string()),
            ]
        } else {
            vec![("vary", "Origin".to_string())]
        }
    });
    let out = audit(&[&url, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json = json_of(&out);
    let f = finding(&json, "suffix_match").expect("suffix_match");
    assert_eq!(f["severity"], "medium", "no credentials: medium");
    assert_eq!(f["credentials"], false);
    assert_eq!(
        finding(&json, "trust_any_subdomain").expect("subdomain")["severity"],
        "low"
    );
}

#[test]
fn trusting_null_is_a_finding() {
    let url = serve(|origin, own| {
        if origin == "null" || origin == own {
            echo(origin)
        } else {
            vec![("vary", "Origin".to_string())]
        }
    });
    let out = audit(&[&url, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json = json_of(&out);
    let f = finding(&json, "trust_null").expect("trust_null");
    assert_eq!(f["acao"], "null");
    assert_eq!(f["severity"], "high");
    assert_eq!(
        json["findings"].as_array().map(Vec::len),
        Some(1),
        "{json:#}"
    );
}

#[test]
fn a_wildcard_is_clean_with_a_low_note() {
    let url = serve(|_, _| vec![("access-control-allow-origin", "*".to_string())]);
    let out = audit(&[&url, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json = json_of(&out);
    assert_eq!(json["verdict"], "clean");
    let f = finding(&json, "wildcard").expect("wildcard");
    assert_eq!(f["severity"], "low");
    assert!(f["message"]
        .as_str()
        .is_some_and(|m| m.contains("not for an intranet")));
    let out = audit(&[&url]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out).contains("LOW"), "{}", text(&out));
}

#[test]
fn a_wildcard_with_credentials_is_reported_as_broken() {
    let url = serve(|_, _| {
        vec![
            ("access-control-allow-origin", "*".to_string()),
            ("access-control-allow-credentials", "true".to_string()),
        ]
    });
    let out = audit(&[&url, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(finding(&json_of(&out), "wildcard_with_credentials").is_some());
}

#[test]
fn a_dynamic_acao_without_vary_is_medium() {
    let url = serve(|origin, _| {
        if origin == "https://app.example.com" {
            vec![("access-control-allow-origin", origin.to_string())]
        } else {
            vec![]
        }
    });
    let out = audit(&[&url, "--origin", "https://app.example.com", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json = json_of(&out);
    let f = finding(&json, "missing_vary").expect("missing_vary");
    assert_eq!(f["severity"], "medium");
    assert_eq!(
        json["findings"].as_array().map(Vec::len),
        Some(1),
        "{json:#}"
    );
}

#[test]
fn an_exact_list_with_vary_is_clean() {
    let url = serve(|origin, _| {
        let mut h = vec![("vary", "Origin".to_string())];
        if origin == "https://app.example.com" {
            h.extend(echo(origin));
        }
        h
    });
    let out = audit(&[&url, "--origin", "https://app.example.com", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json = json_of(&out);
    assert_eq!(json["verdict"], "clean");
    assert_eq!(json["findings"], serde_json::json!([]));
}

const GATEWAY: &str = r#"
[server]
listen = "127.0.0.1:0"

[cors]
allow_origins = ["https://app.example.com"]
allow_credentials = true

[[routes]]
path = "/api/{*rest}"
methods = ["GET", "PUT"]
upstream = "UPSTREAM"
"#;

#[test]
fn the_gateway_is_clean() {
    let upstream = serve(|_, _| vec![]);
    let dir = std::env::temp_dir();
    let config = preflight_gateway::Config::parse(
        &GATEWAY.replace("UPSTREAM", &upstream),
        Path::new("audit.toml"),
        &dir,
    )
    .expect("config");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("gateway runtime");
        rt.block_on(async move {
            let running = preflight_gateway::start(preflight_gateway::Gateway::new(config))
                .await
                .expect("gateway starts");
            let _ = tx.send(running.local_addrs()[0].port());
            running.wait().await;
        });
    });
    let port = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the gateway starts within 30 s");
    let url = format!("http://127.0.0.1:{port}/api/todos");
    let out = audit(&[
        &url,
        "--origin",
        "https://app.example.com",
        "-X",
        "PUT",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json = json_of(&out);
    assert_eq!(json["findings"], serde_json::json!([]), "{json:#}");
    assert_eq!(
        json["probes"][0]["preflight"]["acao"][0],
        "https://app.example.com"
    );
}

#[test]
fn connection_refused_is_an_error() {
    let port = preflight_test_kit::cli::free_port();
    let out = audit(&[&format!("http://127.0.0.1:{port}/")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("connection refused"),
        "{}",
        text(&out)
    );
    let out = audit(&[&format!("http://127.0.0.1:{port}/"), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_of(&out)["verdict"], "error");
}

#[test]
fn a_bad_url_is_an_error() {
    for bad in ["not a url", "ftp://example.com/"] {
        let out = audit(&[bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
    }
}

#[test]
fn help_explains_the_probes_and_exit_codes() {
    let out = preflight_test_kit::cli::run(
        Command::new(env!("CARGO_BIN_EXE_preflight")).args(["audit", "--help"]),
    );
    let t = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "reflect_origin",
        "prefix_match",
        "suffix_match",
        "trust_null",
        "special_characters_bypass",
        "third_party",
        "Vary",
        "0 clean",
        "1 a medium or high finding",
        "2 error",
    ] {
        assert!(t.contains(needle), "{needle}: {t}");
    }
}
