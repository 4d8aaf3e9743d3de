//! `preflight lint` as a user runs it: exit 0 for a file that loads (with its
//! warnings), 1 for each refusal of docs/behaviour.md ("Configuration refused at
//! load"), every diagnostic naming the file, the line and column, the key,
//! and the fix. One fixture text per row, written to a temporary directory.

mod lint_common;

use std::path::Path;

use lint_common::{cors, line_col_of, lint, ROUTE};
use preflight_test_kit::cli::{self, TempDir};

/// One refusal: the file, the key the diagnostic names, where it points (the
/// text at which the span starts), and a word the message or help must say.
struct Row {
    name: &'static str,
    text: String,
    key: &'static str,
    at: String,
    says: &'static str,
}

fn origin_row(name: &'static str, origin: &'static str, says: &'static str) -> Row {
    Row {
        name,
        text: cors(&format!("allow_origins = [\"{origin}\"]")),
        key: "cors.allow_origins[0]",
        at: format!("\"{origin}\""),
        says,
    }
}

fn upstream_row(name: &'static str, upstream: &'static str, says: &'static str) -> Row {
    Row {
        name,
        text: format!(
            "[cors]\nallow_origins = [\"https://app.example.com\"]\n\n[[routes]]\npath = \"/a\"\nmethods = [\"GET\"]\nupstream = \"{upstream}\"\n"
        ),
        key: "routes[0].upstream",
        at: format!("\"{upstream}\""),
        says,
    }
}

fn refusals() -> Vec<Row> {
    vec![
        Row {
            name: "wildcard-with-credentials",
            text: cors(
                "allow_origins = [\"https://app.example.com\", \"*\"]\nallow_credentials = true",
            ),
            key: "cors.allow_origins[1]",
            at: "\"*\"".into(),
            says: "allow_credentials = false",
        },
        Row {
            name: "route-wildcard-inheriting-credentials",
            text: format!(
                "[cors]\nallow_origins = [\"https://app.example.com\"]\nallow_credentials = true\n{ROUTE}cors = {{ allow_origins = [\"*\"] }}\n"
            ),
            key: "routes[0].cors.allow_origins[0]",
            at: "\"*\"".into(),
            says: "allow_credentials",
        },
        origin_row("null-origin", "null", "dangerously_allow_null_origin"),
        origin_row("public-suffix", "https://*.github.io", "public suffix"),
        origin_row("public-suffix-co-uk", "https://*.co.uk", "public suffix"),
        Row {
            name: "http-origin-with-credentials",
            text: cors("allow_origins = [\"http://app.example.com\"]\nallow_credentials = true"),
            key: "cors.allow_origins[0]",
            at: "\"http://app.example.com\"".into(),
            says: "https://",
        },
        origin_row("origin-with-path", "https://app.example.com/app", "path"),
        origin_row(
            "origin-with-userinfo",
            "https://user@app.example.com",
            "user name",
        ),
        origin_row(
            "origin-with-default-port",
            "https://app.example.com:443",
            "default port",
        ),
        origin_row("origin-non-canonical-ip", "http://127.1", "127.0.0.1"),
        Row {
            name: "forbidden-method-on-route",
            text: "[cors]\nallow_origins = [\"https://app.example.com\"]\n\n[[routes]]\npath = \"/a\"\nmethods = [\"GET\", \"TRACE\"]\nupstream = \"http://127.0.0.1:3000\"\n".into(),
            key: "routes[0].methods[1]",
            at: "\"TRACE\"".into(),
            says: "forbidden method",
        },
        Row {
            name: "forbidden-method-in-allow-methods",
            text: cors(
                "allow_origins = [\"https://app.example.com\"]\nallow_methods = [\"GET\", \"CONNECT\"]",
            ),
            key: "cors.allow_methods[1]",
            at: "\"CONNECT\"".into(),
            says: "forbidden method",
        },
        Row {
            name: "forbidden-header",
            text: cors(
                "allow_origins = [\"https://app.example.com\"]\nallow_headers = [\"content-type\", \"cookie\"]",
            ),
            key: "cors.allow_headers[1]",
            at: "\"cookie\"".into(),
            says: "forbidden request header",
        },
        Row {
            name: "invalid-header-name",
            text: cors(
                "allow_origins = [\"https://app.example.com\"]\nallow_headers = [\"x bad\"]",
            ),
            key: "cors.allow_headers[0]",
            at: "\"x bad\"".into(),
            says: "not a header name",
        },
        Row {
            name: "expose-set-cookie",
            text: cors(
                "allow_origins = [\"https://app.example.com\"]\nexpose_headers = [\"x-request-id\", \"set-cookie\"]",
            ),
            key: "cors.expose_headers[1]",
            at: "\"set-cookie\"".into(),
            says: "remove set-cookie",
        },
        Row {
            name: "max-age-too-long",
            text: cors("allow_origins = [\"https://app.example.com\"]\nmax_age = 90000"),
            key: "cors.max_age",
            at: "90000".into(),
            says: "86400",
        },
        Row {
            name: "max-age-too-short",
            text: cors("allow_origins = [\"https://app.example.com\"]\nmax_age = -2"),
            key: "cors.max_age",
            at: "-2".into(),
            says: "between -1 and 86400",
        },
        Row {
            name: "unknown-key-in-cors",
            text: cors("allow_origins = [\"https://app.example.com\"]\nalow_headers = [\"x\"]"),
            key: "alow_headers",
            at: "alow_headers".into(),
            says: "unknown field",
        },
        Row {
            name: "unknown-key-in-route",
            text: format!(
                "[cors]\nallow_origins = [\"https://app.example.com\"]\n{ROUTE}strip_prefx = \"/api\"\n"
            ),
            key: "strip_prefx",
            at: "strip_prefx".into(),
            says: "spelling",
        },
        Row {
            name: "unknown-key-in-server",
            text: cors("allow_origins = [\"https://app.example.com\"]")
                .replace("[cors]", "[server]\nlisten = \"127.0.0.1:8080\"\nlisen = 1\n\n[cors]"),
            key: "lisen",
            at: "lisen".into(),
            says: "unknown field",
        },
        Row {
            name: "overlapping-routes",
            text: format!(
                "[cors]\nallow_origins = [\"https://app.example.com\"]\n{ROUTE}\n[[routes]]\npath = \"/api/users/{{name}}\"\nmethods = [\"DELETE\"]\nupstream = \"http://127.0.0.1:3001\"\n"
            ),
            key: "routes[1].path",
            at: "\"/api/users/{name}\"".into(),
            says: "overlaps",
        },
        Row {
            name: "route-without-methods",
            text: "[cors]\nallow_origins = [\"https://app.example.com\"]\n\n[[routes]]\npath = \"/a\"\nmethods = []\nupstream = \"http://127.0.0.1:3000\"\n".into(),
            key: "routes[0].methods",
            at: "[]".into(),
            says: "no methods",
        },
        upstream_row("upstream-without-scheme", "127.0.0.1:3000", "no scheme"),
        upstream_row("upstream-not-http", "ftp://127.0.0.1:3000", "not http"),
        upstream_row(
            "upstream-with-userinfo",
            "http://user:pw@127.0.0.1:3000",
            "userinfo",
        ),
        upstream_row(
            "upstream-with-query",
            "http://127.0.0.1:3000/?q=1",
            "query",
        ),
        Row {
            name: "toml-syntax",
            text: cors("allow_origins = [\"https://app.example.com\"\nmax_age = 600"),
            key: "(syntax)",
            at: "max_age".into(),
            says: "TOML syntax",
        },
    ]
}

#[test]
fn each_refusal_names_the_file_line_key_and_fix() {
    let dir = TempDir::new("lint-refusals");
    let mut failures = Vec::new();
    let rows: Vec<Row> = refusals().into_iter().chain(edge_refusals()).collect();
    for row in &rows {
        let file = dir.write(&format!("{}.toml", row.name), &row.text);
        let out = lint(&file);
        let (stdout, stderr) = (cli::stdout(&out), cli::stderr(&out));
        let (line, col) = line_col_of(&row.text, &row.at);
        let location = format!("{}:{line}:{col}:", file.display());
        let mut wrong = Vec::new();
        if out.status.code() != Some(1) {
            wrong.push(format!("exit {:?}, expected 1", out.status.code()));
        }
        // The diagnostic's first line: severity, file:line:col, key.
        if !stderr
            .lines()
            .any(|l| l.contains('×') && l.contains(&location) && l.contains(row.key))
        {
            wrong.push(format!("no error line with {location} and {}", row.key));
        }
        if !stderr.contains("help:") {
            wrong.push("no help".into());
        }
        if !stderr.contains(row.says) {
            wrong.push(format!("does not say {:?}", row.says));
        }
        if !stderr.contains(&format!("{}: refused", file.display())) {
            wrong.push("no summary".into());
        }
        if !stdout.is_empty() {
            wrong.push(format!("stdout not empty: {stdout}"));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {}\n--- fixture\n{}--- stderr\n{stderr}",
                row.name,
                wrong.join("; "),
                row.text
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows wrong:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn every_problem_of_a_file_is_reported_at_once() {
    let dir = TempDir::new("lint-several");
    let text = cors(
        "allow_origins = [\"null\"]\nallow_headers = [\"cookie\"]\nexpose_headers = [\"set-cookie\"]",
    );
    let file = dir.write("several.toml", &text);
    let out = lint(&file);
    let stderr = cli::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for (needle, key) in [
        ("\"null\"", "cors.allow_origins[0]"),
        ("\"cookie\"", "cors.allow_headers[0]"),
        ("\"set-cookie\"", "cors.expose_headers[0]"),
    ] {
        let (line, col) = line_col_of(&text, needle);
        let location = format!("{}:{line}:{col}: {key}", file.display());
        assert!(
            stderr.contains(&location),
            "expected {location} in:\n{stderr}"
        );
    }
    assert!(stderr.contains("refused (3 error(s)"), "{stderr}");
}

#[test]
fn a_good_file_is_ok() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/explain.toml");
    let out = lint(&file);
    let (stdout, stderr) = (cli::stdout(&out), cli::stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout.trim(),
        format!("{}: ok (4 route(s), 0 warning(s))", file.display()),
        "{stderr}"
    );
    assert!(stderr.trim().is_empty(), "{stderr}");
}

#[test]
fn max_age_over_chromiums_cap_is_a_warning() {
    let dir = TempDir::new("warning");
    let text = cors("allow_origins = [\"https://app.example.com\"]\nmax_age = 7201");
    let file = dir.write("preflight.toml", &text);
    let out = lint(&file);
    let (stdout, stderr) = (cli::stdout(&out), cli::stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "{}: ok (1 route(s), 1 warning(s))",
            file.display()
        )),
        "{stdout}"
    );
    let (line, col) = line_col_of(&text, "7201");
    let location = format!("{}:{line}:{col}: cors.max_age", file.display());
    assert!(
        stderr
            .lines()
            .any(|l| l.contains('⚠') && l.contains(&location)),
        "expected a warning at {location}:\n{stderr}"
    );
    assert!(stderr.contains("7200"), "{stderr}");
    assert!(stderr.contains("help:"), "{stderr}");
    assert!(
        !stderr.contains('×'),
        "a warning is not an error:\n{stderr}"
    );

    // At the cap exactly: nothing to say.
    let file = dir.write(
        "capped.toml",
        cors("allow_origins = [\"https://app.example.com\"]\nmax_age = 7200"),
    );
    let out = lint(&file);
    assert_eq!(out.status.code(), Some(0), "{}", cli::stderr(&out));
    assert!(
        cli::stdout(&out).contains("ok (1 route(s), 0 warning(s))"),
        "{}",
        cli::stdout(&out)
    );
}

#[test]
fn a_missing_file_is_an_error() {
    let dir = TempDir::new("missing");
    let file = dir.join("nope.toml");
    let out = lint(&file);
    let stderr = cli::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot read {}", file.display())),
        "{stderr}"
    );
    assert!(stderr.contains("--config"), "{stderr}");
}

/// The refusals of the edge keys (docs/configuration.md: `trusted_proxies`,
/// `admin_hosts`, `websocket_idle_timeout`, a route's `websocket`).
fn edge_refusals() -> Vec<Row> {
    let server = |body: &str| {
        format!(
            "[server]\n{body}\n{}",
            cors("allow_origins = [\"https://app.example.com\"]")
        )
    };
    vec![
        Row {
            name: "trusted-proxy-bits-beyond-prefix",
            text: server("trusted_proxies = [\"10.0.0.0/8\", \"10.1.0.0/8\"]"),
            key: "server.trusted_proxies[1]",
            at: "\"10.1.0.0/8\"".into(),
            says: "beyond /8",
        },
        Row {
            name: "trusted-proxy-not-an-address",
            text: server("trusted_proxies = [\"lb.example.com\"]"),
            key: "server.trusted_proxies[0]",
            at: "\"lb.example.com\"".into(),
            says: "not an IP address",
        },
        Row {
            name: "admin-host-not-a-host",
            text: server("admin_hosts = [\"admin.internal/x\"]"),
            key: "server.admin_hosts[0]",
            at: "\"admin.internal/x\"".into(),
            says: "not a host name",
        },
        Row {
            name: "websocket-idle-timeout-zero",
            text: server("websocket_idle_timeout = \"0s\""),
            key: "server.websocket_idle_timeout",
            at: "\"0s\"".into(),
            says: "not a duration",
        },
        Row {
            name: "websocket-without-get",
            text: "[[routes]]\npath = \"/live\"\nmethods = [\"POST\"]\nupstream = \"http://127.0.0.1:3000\"\nwebsocket = true\n".into(),
            key: "routes[0].websocket",
            at: "true".into(),
            says: "handshake is a GET",
        },
    ]
}

#[test]
fn admin_beyond_loopback_is_a_warning() {
    let dir = TempDir::new("admin-warning");
    let text = format!(
        "[server]\nadmin = \"0.0.0.0:9901\"\n{}",
        cors("allow_origins = [\"https://app.example.com\"]")
    );
    let file = dir.write("preflight.toml", &text);
    let out = lint(&file);
    let (stdout, stderr) = (cli::stdout(&out), cli::stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("ok (1 route(s), 1 warning(s))"), "{stdout}");
    let (line, col) = line_col_of(&text, "\"0.0.0.0:9901\"");
    let location = format!("{}:{line}:{col}: server.admin", file.display());
    assert!(
        stderr
            .lines()
            .any(|l| l.contains('⚠') && l.contains(&location)),
        "expected a warning at {location}:\n{stderr}"
    );
    assert!(stderr.contains("beyond this machine"), "{stderr}");

    let file = dir.write(
        "loopback.toml",
        text.replace("0.0.0.0:9901", "127.0.0.1:9901"),
    );
    let out = lint(&file);
    assert!(
        cli::stdout(&out).contains("ok (1 route(s), 0 warning(s))"),
        "{}",
        cli::stdout(&out)
    );
}
