//! `preflight lint` on the settings that must be exact (docs/configuration.md):
//! an empty `allow_origins`, CORS response headers in `allow_headers`, CORS
//! request headers in `expose_headers`, extension origins with wildcards,
//! `file:`, origins no browser sends; a CORS-safelisted header in
//! `expose_headers` as a warning; `localhost.` and extension origins loading
//! with credentials. Each refusal's message and fix are both checked.

mod lint_common;

use lint_common::{cors, line_col_of, lint};
use preflight_test_kit::cli::{self, TempDir};

/// A refusal whose message and fix are both checked: the words the message
/// must say and the words the help line must say.
struct Explained {
    name: &'static str,
    text: String,
    key: &'static str,
    at: &'static str,
    message: &'static str,
    help: &'static str,
}

fn explained_refusals() -> Vec<Explained> {
    let allow = |name: &'static str, header: &'static str, help: &'static str| {
        Explained {
        name,
        text: cors(&format!(
            "allow_origins = [\"https://app.example.com\"]\nallow_headers = [\"content-type\", \"{header}\"]"
        )),
        key: "cors.allow_headers[1]",
        at: header,
        message: "is a response header",
        help,
    }
    };
    let expose = |name: &'static str, header: &'static str, help: &'static str| {
        Explained {
        name,
        text: cors(&format!(
            "allow_origins = [\"https://app.example.com\"]\nexpose_headers = [\"x-request-id\", \"{header}\"]"
        )),
        key: "cors.expose_headers[1]",
        at: header,
        message: "is a request header",
        help,
    }
    };
    vec![
        Explained {
            name: "empty-allow-origins",
            text: cors("allow_origins = []"),
            key: "cors.allow_origins",
            at: "[]",
            message: "no origin would be allowed",
            help: "cors = false",
        },
        allow(
            "acao-in-allow-headers",
            "Access-Control-Allow-Origin",
            "Access-Control-Allow-Origin is the server's answer naming the origin",
        ),
        allow(
            "acac-in-allow-headers",
            "access-control-allow-credentials",
            "writes it from allow_credentials",
        ),
        allow(
            "acam-in-allow-headers",
            "Access-Control-Allow-Methods",
            "writes it from allow_methods",
        ),
        allow(
            "aceh-in-allow-headers",
            "Access-Control-Expose-Headers",
            "writes it from expose_headers",
        ),
        allow(
            "acma-in-allow-headers",
            "Access-Control-Max-Age",
            "how long a browser may cache it",
        ),
        expose(
            "origin-in-expose-headers",
            "Origin",
            "Origin is sent by the browser to say who is asking",
        ),
        expose(
            "acrm-in-expose-headers",
            "Access-Control-Request-Method",
            "to ask for a method; allow_methods answers it",
        ),
        expose(
            "acrh-in-expose-headers",
            "access-control-request-headers",
            "to ask for request headers; allow_headers answers it",
        ),
        Explained {
            name: "extension-wildcard",
            text: cors("allow_origins = [\"chrome-extension://*\"]"),
            key: "cors.allow_origins[0]",
            at: "\"chrome-extension://*\"",
            message: "names one extension or app",
            help: "write the whole origin of the extension or app",
        },
        Explained {
            name: "file-origin",
            text: cors("allow_origins = [\"file://\"]"),
            key: "cors.allow_origins[0]",
            at: "\"file://\"",
            message: "sends `Origin: null`",
            help: "serve the page from http://localhost",
        },
        Explained {
            name: "port-zero",
            text: cors("allow_origins = [\"http://localhost:0\"]"),
            key: "cors.allow_origins[0]",
            at: "\"http://localhost:0\"",
            message: "port 0",
            help: "write the origin a browser sends",
        },
        Explained {
            name: "empty-label",
            text: cors("allow_origins = [\"https://example..com\"]"),
            key: "cors.allow_origins[0]",
            at: "\"https://example..com\"",
            message: "empty label",
            help: "write the origin a browser sends",
        },
        Explained {
            name: "ipv4-mapped",
            text: cors("allow_origins = [\"http://[::ffff:7f00:1]:8080\"]"),
            key: "cors.allow_origins[0]",
            at: "\"http://[::ffff:7f00:1]:8080\"",
            message: "IPv4-mapped IPv6",
            help: "write the origin a browser sends",
        },
        Explained {
            name: "host-too-long",
            text: cors(&format!(
                "allow_origins = [\"https://{}.com\"]",
                [
                    "a".repeat(63),
                    "a".repeat(63),
                    "a".repeat(63),
                    "a".repeat(63)
                ]
                .join(".")
            )),
            key: "cors.allow_origins[0]",
            at: "\"https://aaaa",
            message: "at most 253",
            help: "write the origin a browser sends",
        },
    ]
}

#[test]
fn new_refusals_say_what_is_wrong_and_what_the_header_is_for() {
    let dir = TempDir::new("lint-explained");
    let mut failures = Vec::new();
    let rows = explained_refusals();
    for row in &rows {
        let file = dir.write(&format!("{}.toml", row.name), &row.text);
        let out = lint(&file);
        let stderr = cli::stderr(&out);
        // miette wraps long lines; compare with the wrapping undone.
        let flat = stderr
            .lines()
            .map(|l| l.trim_start_matches([' ', '│']).trim_end())
            .collect::<Vec<_>>()
            .join(" ");
        let (line, col) = line_col_of(&row.text, row.at);
        let at = if row.at.starts_with('"') || row.at == "[]" {
            (line, col)
        } else {
            (line, col - 1)
        };
        let location = format!("{}:{}:{}: {}", file.display(), at.0, at.1, row.key);
        let help_line = stderr
            .lines()
            .find(|l| l.trim_start().starts_with("help:"))
            .unwrap_or_default();
        let mut wrong = Vec::new();
        if out.status.code() != Some(1) {
            wrong.push(format!("exit {:?}, expected 1", out.status.code()));
        }
        if !stderr
            .lines()
            .any(|l| l.contains('×') && l.contains(&location))
        {
            wrong.push(format!("no error line at {location}"));
        }
        if !flat.contains(row.message) {
            wrong.push(format!("the message does not say {:?}", row.message));
        }
        if !help_line.contains(row.help) {
            wrong.push(format!(
                "the help does not say {:?}: {help_line:?}",
                row.help
            ));
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
fn safelisted_response_headers_in_expose_headers_are_a_warning() {
    let dir = TempDir::new("lint-safelisted");
    let text = cors(
        "allow_origins = [\"https://app.example.com\"]\nexpose_headers = [\"x-request-id\", \"Content-Type\"]",
    );
    let file = dir.write("preflight.toml", &text);
    let out = lint(&file);
    let (stdout, stderr) = (cli::stdout(&out), cli::stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("ok (1 route(s), 1 warning(s))"), "{stdout}");
    let (line, col) = line_col_of(&text, "\"Content-Type\"");
    let location = format!("{}:{line}:{col}: cors.expose_headers[1]", file.display());
    assert!(
        stderr
            .lines()
            .any(|l| l.contains('⚠') && l.contains(&location)),
        "expected a warning at {location}:\n{stderr}"
    );
    assert!(stderr.contains("CORS-safelisted"), "{stderr}");
    let help_line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("help:"))
        .unwrap_or_default();
    assert!(
        help_line.contains("readable by scripts without being exposed"),
        "{help_line}"
    );
    assert!(
        !stderr.contains('×'),
        "a warning is not an error:\n{stderr}"
    );
}

#[test]
fn localhost_dot_and_extension_origins_load_with_credentials() {
    let dir = TempDir::new("lint-exact-origins");
    let text = cors(
        "allow_origins = [\"http://localhost.:*\", \"https://*.localhost.\", \"chrome-extension://abcdefghijklmnopabcdefghijklmnop\", \"capacitor://localhost\"]\nallow_credentials = true\nallow_methods = [\"*\"]",
    );
    let file = dir.write("preflight.toml", &text);
    let out = lint(&file);
    let (stdout, stderr) = (cli::stdout(&out), cli::stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("ok (1 route(s), 0 warning(s))"),
        "{stdout}{stderr}"
    );
}
