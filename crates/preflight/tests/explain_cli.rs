//! `preflight explain` as a user runs it: the real binary against the fixture
//! `tests/fixtures/explain.toml` (the example configuration of docs/configuration.md), the
//! exit codes (0 allowed, 1 blocked, 2 error), the JSON object of docs/behaviour.md,
//! the text account, and fixes that point at the real line of the fixture.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use preflight_test_kit::cli::{self, stderr, stdout, TempDir};
use serde_json::Value;

const APP: &str = "https://app.example.com";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

fn config() -> PathBuf {
    fixture("explain.toml")
}

/// The 1-based line of the fixture holding `needle`, which must occur on
/// exactly one line.
fn line_of(text: &str, needle: &str) -> usize {
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "{needle:?} should be on exactly one line");
    lines[0]
}

/// `<config path>:<line>:`, as a fix writes it, for the line holding `needle`.
fn at_line_of(needle: &str) -> String {
    let path = config();
    let text = std::fs::read_to_string(&path).expect("read the fixture");
    format!("{}:{}:", path.display(), line_of(&text, needle))
}

fn run(config: &Path, args: &[&str]) -> Output {
    cli::run(
        Command::new(env!("CARGO_BIN_EXE_preflight"))
            .arg("explain")
            .arg("--config")
            .arg(config)
            .args(args),
    )
}

fn exit_code(out: &Output) -> i32 {
    out.status.code().expect("an exit code, not a signal")
}

/// Run with `--json`: the exit code and the object printed.
fn explain_json(args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.push("--json");
    let out = run(&config(), &all);
    let value: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(&out),
            stderr(&out)
        )
    });
    (exit_code(&out), value)
}

fn fix(v: &Value) -> &str {
    v["fix"]
        .as_str()
        .unwrap_or_else(|| panic!("a fix is expected: {v:#}"))
}

fn assert_blocked(code: i32, v: &Value, reason: &str, stage: &str) {
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["verdict"], "blocked", "{v:#}");
    assert_eq!(v["reason"], reason, "{v:#}");
    assert_eq!(v["stage"], stage, "{v:#}");
}

fn assert_allowed(code: i32, v: &Value) {
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["verdict"], "allowed", "{v:#}");
    assert_eq!(v["reason"], Value::Null, "{v:#}");
    assert_eq!(v["stage"], Value::Null, "{v:#}");
    assert_eq!(v["fix"], Value::Null, "{v:#}");
}

#[test]
fn preflighted_put_with_content_type_is_allowed() {
    let (code, v) = explain_json(&[
        "--origin",
        APP,
        "-X",
        "PUT",
        "-H",
        "content-type: application/json",
        "/api/users/42",
    ]);
    assert_allowed(code, &v);
    let pf = &v["preflight"];
    assert_eq!(pf["sent"], true, "{v:#}");
    assert_eq!(pf["status"], 204, "{v:#}");
    let h = &pf["headers"];
    assert_eq!(h["access-control-allow-origin"], APP, "{v:#}");
    assert_eq!(h["access-control-allow-credentials"], "true", "{v:#}");
    assert_eq!(
        h["access-control-allow-methods"], "GET, PUT, DELETE",
        "{v:#}"
    );
    assert_eq!(h["access-control-allow-headers"], "content-type", "{v:#}");
    assert_eq!(h["access-control-max-age"], "600", "{v:#}");
    let actual = &v["actual"];
    assert_eq!(actual["sent"], true, "{v:#}");
    assert_eq!(actual["status"], 200, "{v:#}");
    assert_eq!(
        actual["headers"]["access-control-allow-origin"], APP,
        "{v:#}"
    );
    assert_eq!(
        actual["headers"]["access-control-expose-headers"], "x-request-id",
        "{v:#}"
    );
}

#[test]
fn a_simple_get_needs_no_preflight() {
    let (code, v) = explain_json(&["--origin", APP, "/api/users/42"]);
    assert_allowed(code, &v);
    assert_eq!(v["preflight"]["sent"], false, "{v:#}");
    assert_eq!(v["actual"]["status"], 200, "{v:#}");
}

#[test]
fn a_disallowed_origin_is_fixed_in_allow_origins() {
    let evil = "https://evil.example.net";
    let at = at_line_of("allow_origins = [\"https://app.example.com\"");

    let (code, v) = explain_json(&[
        "--origin",
        evil,
        "-X",
        "PUT",
        "-H",
        "content-type: application/json",
        "/api/users/42",
    ]);
    assert_blocked(code, &v, "PreflightMissingAllowOriginHeader", "preflight");
    assert_eq!(v["preflight"]["status"], 403, "{v:#}");
    assert!(
        v["preflight"]["headers"]
            .get("access-control-allow-origin")
            .is_none(),
        "a refused preflight carries no CORS headers: {v:#}"
    );
    assert_eq!(v["actual"]["sent"], false, "{v:#}");
    let f = fix(&v);
    assert!(f.contains("allow_origins"), "{f}");
    assert!(f.contains(evil), "{f}");
    assert!(f.contains(&at), "expected {at} in: {f}");

    // A simple GET is sent without a preflight, and blocked at the response.
    let (code, v) = explain_json(&["--origin", evil, "/api/users/42"]);
    assert_blocked(code, &v, "MissingAllowOriginHeader", "actual");
    assert_eq!(v["preflight"]["sent"], false, "{v:#}");
    assert!(fix(&v).contains(&at), "expected {at} in: {}", fix(&v));
}

#[test]
fn a_header_not_allowed_is_fixed_in_allow_headers() {
    let (code, v) = explain_json(&[
        "--origin",
        APP,
        "-X",
        "PUT",
        "-H",
        "x-custom: 1",
        "/api/users/42",
    ]);
    assert_blocked(code, &v, "PreflightMissingAllowOriginHeader", "preflight");
    assert_eq!(v["preflight"]["status"], 403, "{v:#}");
    let f = fix(&v);
    assert!(f.contains("x-custom"), "{f}");
    assert!(f.contains("allow_headers"), "{f}");
    let at = at_line_of("allow_headers = [\"content-type\", \"authorization\"]");
    assert!(f.contains(&at), "expected {at} in: {f}");
}

#[test]
fn a_method_the_route_lacks_is_fixed_in_its_methods() {
    let (code, v) = explain_json(&["--origin", APP, "-X", "PATCH", "/api/users/42"]);
    assert_blocked(code, &v, "PreflightMissingAllowOriginHeader", "preflight");
    assert_eq!(v["preflight"]["status"], 403, "{v:#}");
    let f = fix(&v);
    assert!(f.contains("routes[0].methods"), "{f}");
    assert!(f.contains("PATCH"), "{f}");
    let at = at_line_of("methods = [\"GET\", \"PUT\", \"DELETE\"]");
    assert!(f.contains(&at), "expected {at} in: {f}");
}

#[test]
fn a_route_with_cors_false_is_fixed_at_its_cors_key() {
    let at = at_line_of("cors = false");
    // Preflighted: the gateway refuses the preflight.
    let (code, v) = explain_json(&[
        "--origin",
        APP,
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "/internal/jobs",
    ]);
    assert_blocked(code, &v, "PreflightMissingAllowOriginHeader", "preflight");
    assert_eq!(v["preflight"]["status"], 403, "{v:#}");
    let f = fix(&v);
    assert!(f.contains("routes[2].cors"), "{f}");
    assert!(f.contains(&at), "expected {at} in: {f}");

    // Simple: the upstream's answer goes out without CORS headers.
    let (code, v) = explain_json(&["--origin", APP, "/internal/jobs"]);
    assert_blocked(code, &v, "MissingAllowOriginHeader", "actual");
    assert_eq!(v["actual"]["status"], 200, "{v:#}");
    assert!(fix(&v).contains("routes[2].cors"), "{}", fix(&v));
}

#[test]
fn the_public_route_allows_any_origin_but_not_credentials() {
    let (code, v) = explain_json(&["--origin", "https://anyone.example.org", "/api/public/a/b"]);
    assert_allowed(code, &v);
    assert_eq!(
        v["actual"]["headers"]["access-control-allow-origin"], "*",
        "{v:#}"
    );
    assert!(
        v["actual"]["headers"]
            .get("access-control-allow-credentials")
            .is_none(),
        "{v:#}"
    );

    let (code, v) = explain_json(&[
        "--origin",
        APP,
        "--credentials",
        "include",
        "/api/public/a/b",
    ]);
    assert_blocked(code, &v, "WildcardOriginNotAllowed", "actual");
    let f = fix(&v);
    assert!(f.contains("allow_credentials"), "{f}");
    assert!(f.contains("routes[1].cors.allow_credentials"), "{f}");
    let at = at_line_of("cors = { allow_origins = [\"*\"], allow_credentials = false }");
    assert!(f.contains(&at), "expected {at} in: {f}");
}

#[test]
fn a_path_without_a_route_gets_404_and_a_fix_to_add_one() {
    let (code, v) = explain_json(&["--origin", APP, "/nowhere/at/all"]);
    // The gateway's own 404 carries the CORS headers (docs/behaviour.md): the script
    // can read it, so the browser does not block; the fix still says what to do.
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["verdict"], "allowed", "{v:#}");
    assert_eq!(v["actual"]["status"], 404, "{v:#}");
    assert_eq!(
        v["actual"]["headers"]["access-control-allow-origin"], APP,
        "{v:#}"
    );
    let f = fix(&v);
    assert!(f.contains("[[routes]]"), "{f}");
    assert!(f.contains("add"), "{f}");

    // From an origin that is not allowed, the 404 is blocked too.
    let (code, v) = explain_json(&["--origin", "https://evil.example.net", "/nowhere"]);
    assert_blocked(code, &v, "MissingAllowOriginHeader", "actual");
    assert_eq!(v["actual"]["status"], 404, "{v:#}");
    assert!(fix(&v).contains("[[routes]]"), "{}", fix(&v));

    let out = run(&config(), &["--origin", APP, "/nowhere/at/all"]);
    assert!(
        stdout(&out).contains("route: none matches /nowhere/at/all"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn authorization_is_never_covered_by_a_wildcard_in_either_profile() {
    // routes[3] overrides allow_headers with ["*"]: any other header passes.
    for profile in ["chromium", "spec"] {
        let (code, v) = explain_json(&[
            "--origin",
            APP,
            "--profile",
            profile,
            "-H",
            "x-anything: 1",
            "/api/open/x",
        ]);
        assert_allowed(code, &v);
        assert_eq!(
            v["preflight"]["headers"]["access-control-allow-headers"], "x-anything",
            "{profile}: {v:#}"
        );
    }
    // Authorization: the gateway refuses it under `*` whatever the browser
    // would accept (Chromium still lets `*` cover it; the standard does not).
    let at = at_line_of("allow_headers = [\"*\"]");
    for profile in ["chromium", "spec"] {
        let (code, v) = explain_json(&[
            "--origin",
            APP,
            "--profile",
            profile,
            "-H",
            "authorization: Bearer t",
            "/api/open/x",
        ]);
        assert_blocked(code, &v, "PreflightMissingAllowOriginHeader", "preflight");
        assert_eq!(v["preflight"]["status"], 403, "{profile}: {v:#}");
        let f = fix(&v);
        assert!(f.contains("\"authorization\" by name"), "{profile}: {f}");
        assert!(f.contains("routes[3].cors.allow_headers"), "{profile}: {f}");
        assert!(f.contains(&at), "{profile}: expected {at} in: {f}");
    }
    // Listed by name (the default [cors]): allowed under both profiles.
    for profile in ["chromium", "spec"] {
        let (code, v) = explain_json(&[
            "--origin",
            APP,
            "--profile",
            profile,
            "-H",
            "authorization: Bearer t",
            "/api/users/1",
        ]);
        assert_allowed(code, &v);
        assert_eq!(
            v["preflight"]["headers"]["access-control-allow-headers"], "authorization",
            "{profile}: {v:#}"
        );
    }
    let out = run(
        &config(),
        &[
            "--origin",
            APP,
            "--profile",
            "spec",
            "-H",
            "authorization: Bearer t",
            "/api/open/x",
        ],
    );
    assert_eq!(exit_code(&out), 1, "{}", stdout(&out));
    assert!(stdout(&out).contains("profile: spec"), "{}", stdout(&out));
}

#[test]
fn text_output_says_allowed_or_blocked_why_and_fix() {
    let out = run(
        &config(),
        &[
            "--origin",
            APP,
            "-X",
            "PUT",
            "-H",
            "content-type: application/json",
            "/api/users/42",
        ],
    );
    let text = stdout(&out);
    assert_eq!(exit_code(&out), 0, "{text}");
    assert!(text.contains("ALLOWED"), "{text}");
    assert!(!text.contains("BLOCKED"), "{text}");
    assert!(text.contains("> OPTIONS "), "{text}");
    assert!(text.contains("route: /api/users/{id}"), "{text}");

    let out = run(
        &config(),
        &[
            "--origin",
            "https://evil.example.net",
            "-X",
            "DELETE",
            "/api/users/42",
        ],
    );
    let text = stdout(&out);
    assert_eq!(exit_code(&out), 1, "{text}");
    assert!(
        text.contains("BLOCKED  at the preflight: PreflightMissingAllowOriginHeader"),
        "{text}"
    );
    assert!(text.contains("why:"), "{text}");
    assert!(text.contains("fix:"), "{text}");
    let at = at_line_of("allow_origins = [\"https://app.example.com\"");
    assert!(text.contains(&at), "expected {at} in: {text}");
    assert!(!text.contains("ALLOWED"), "{text}");
}

#[test]
fn nothing_is_sent_to_the_upstream() {
    // An upstream that listens: explain must never connect to it.
    let upstream = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    upstream.set_nonblocking(true).expect("non-blocking");
    let addr = upstream.local_addr().expect("address");
    let dir = TempDir::new("explain-cli");
    let file = dir.write(
        "preflight.toml",
        format!(
            "[cors]\nallow_origins = [\"{APP}\"]\nallow_headers = [\"content-type\"]\n\n[[routes]]\npath = \"/api/{{*rest}}\"\nmethods = [\"GET\", \"PUT\"]\nupstream = \"http://{addr}\"\n"
        ),
    );
    let out = run(
        &file,
        &[
            "--origin",
            APP,
            "-X",
            "PUT",
            "-H",
            "content-type: application/json",
            "/api/x",
        ],
    );
    drop(dir);
    assert_eq!(exit_code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    match upstream.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        Ok((_, peer)) => panic!("explain connected to the upstream from {peer}"),
        Err(e) => panic!("accept: {e}"),
    }
}

#[test]
fn errors_exit_2_with_a_clear_message() {
    // A missing file.
    let missing = fixture("does-not-exist.toml");
    let out = run(&missing, &["--origin", APP, "/api/users/1"]);
    assert_eq!(exit_code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("cannot read"), "{err}");
    assert!(err.contains("does-not-exist.toml"), "{err}");

    // A file with an error: the message says where, and to run `preflight lint`.
    let refused = fixture("refused.toml");
    let text = std::fs::read_to_string(&refused).expect("read the fixture");
    let out = run(&refused, &["--origin", APP, "/api/users/1"]);
    assert_eq!(exit_code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("preflight lint --config {}", refused.display())),
        "{err}"
    );
    let at = format!(
        "{}:{}:",
        refused.display(),
        line_of(&text, "\"https://*.github.io\"")
    );
    assert!(err.contains(&at), "expected {at} in: {err}");
    assert!(err.contains("cors.allow_origins[1]"), "{err}");
    assert!(out.stdout.is_empty(), "{}", stdout(&out));

    // A bad origin.
    let out = run(&config(), &["--origin", "app.example.com", "/api/users/1"]);
    assert_eq!(exit_code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("origin \"app.example.com\""),
        "{}",
        stderr(&out)
    );

    // A header without a colon.
    let out = run(&config(), &["--origin", APP, "-H", "x-foo", "/api/users/1"]);
    assert_eq!(exit_code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("-H \"x-foo\": write a header as 'Name: value'"),
        "{}",
        stderr(&out)
    );

    // With --json the error is one object on stdout.
    let (code, v) = explain_json(&["--origin", APP, "-H", "x-foo", "/api/users/1"]);
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(v["verdict"], "error", "{v:#}");
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("x-foo")),
        "{v:#}"
    );

    // A path that is not one.
    let out = run(&config(), &["--origin", APP, "api/users/1"]);
    assert_eq!(exit_code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("starts with /"), "{}", stderr(&out));
}
