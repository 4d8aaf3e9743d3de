//! `preflight check` as a user meets it: the text account, the JSON object of
//! docs/behaviour.md, the exit codes, errors, `--send-actual`, redirects, `--help`.
//!
//! Two servers of the test kit (`r` and `p`, two origins), each answering by
//! the kit's `/makeheader` protocol (`cors/resources/cors-makeheader.py` made
//! generic): `status` and `h=Name:Value` for an actual request, `pf_status`
//! and `pfh=Name:Value` for a preflight, `location` for a redirect. Every URL
//! carries `token=<test>`; a test reads what the servers got under its token.

use std::process::{Command, Output};
use std::sync::OnceLock;

use preflight_test_kit::cli::{json, stderr, stdout};
use preflight_test_kit::{makeheader, Received, Server};

/// The page's origin: only ever sent as a header.
const APP: &str = "https://app.example.com";

struct Servers {
    r: String,
    p: String,
    running: [Server; 2],
}

fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let start = |name| Server::named(name, makeheader::answer).expect("a test server starts");
        let (r, p) = (start("r"), start("p"));
        Servers {
            r: r.origin(),
            p: p.origin(),
            running: [r, p],
        }
    })
}

/// What the servers got under `token`, in arrival order.
fn seen(token: &str) -> Vec<Received> {
    let mut seen: Vec<Received> = servers()
        .running
        .iter()
        .flat_map(Server::received)
        .filter(|r| r.query().get("token") == Some(token))
        .collect();
    seen.sort_by_key(|r| r.seq);
    seen
}

/// `base/path?token=..&params`.
fn url(base: &str, token: &str, params: &[(&str, &str)]) -> String {
    let mut all = vec![("token", token)];
    all.extend_from_slice(params);
    makeheader::url(base, "/x", &all)
}

fn check(args: &[&str]) -> Output {
    preflight_test_kit::cli::run(
        Command::new(env!("CARGO_BIN_EXE_preflight"))
            .arg("check")
            .args(args),
    )
}

const ACAO_STAR: &str = "Access-Control-Allow-Origin:*";

#[test]
fn text_output_of_a_blocked_request() {
    let s = servers();
    let u = url(&s.r, "text-blocked", &[("h", "Content-Type:text/plain")]);
    let out = check(&[&u, "--origin", APP]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for want in [
        &format!("> GET {u}"),
        &format!(">   Origin: {APP}"),
        "< 200 OK",
        "<   content-type: text/plain",
        "BLOCKED  at the actual: MissingAllowOriginHeader",
        "why:",
        "fix:",
        "Access-Control-Allow-Origin",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // The fix printed is the one the JSON carries.
    let j = json(&check(&[&u, "--origin", APP, "--json"]));
    let fix = j["fix"].as_str().expect("fix");
    assert!(text.contains(fix), "fix {fix:?} not in:\n{text}");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn text_output_of_a_preflighted_allowed_request() {
    let s = servers();
    let u = url(
        &s.r,
        "text-allowed",
        &[
            ("pf_status", "204"),
            ("pfh", &format!("Access-Control-Allow-Origin:{APP}")),
            ("pfh", "Access-Control-Allow-Methods:PUT"),
            ("pfh", "Access-Control-Allow-Headers:content-type"),
            ("h", &format!("Access-Control-Allow-Origin:{APP}")),
            ("h", "Access-Control-Expose-Headers:x-request-id"),
            ("h", "X-Request-Id:42"),
        ],
    );
    let out = check(&[
        &u,
        "--origin",
        APP,
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/json",
        "--send-actual",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for want in [
        &format!("> OPTIONS {u}   (preflight)"),
        "PUT is not GET, HEAD or POST",
        ">   Access-Control-Request-Method: PUT",
        ">   Access-Control-Request-Headers: content-type",
        "< 204 No Content",
        "<   access-control-allow-methods: PUT",
        &format!("> PUT {u}   (request)"),
        ">   Content-Type: application/json",
        "ALLOWED",
        "script can read: ",
        "x-request-id",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(!text.contains("BLOCKED"), "{text}");
}

#[test]
fn json_has_the_design_keys() {
    let s = servers();
    let acao = format!("Access-Control-Allow-Origin:{APP}");
    let allowed = url(
        &s.r,
        "json-allowed",
        &[
            ("pfh", &acao),
            ("pfh", "Access-Control-Allow-Methods:DELETE"),
            ("h", &acao),
            ("h", "Access-Control-Expose-Headers:x-request-id"),
            ("h", "X-Request-Id:7"),
        ],
    );
    let out = check(&[
        &allowed,
        "--origin",
        APP,
        "-X",
        "DELETE",
        "--send-actual",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let j = json(&out);
    assert_eq!(j["verdict"], "allowed");
    assert!(j["reason"].is_null() && j["stage"].is_null() && j["fix"].is_null());
    assert!(j["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(j["preflight"]["sent"], true);
    assert_eq!(j["preflight"]["status"], 200);
    assert_eq!(
        j["preflight"]["headers"]["access-control-allow-methods"],
        "DELETE"
    );
    assert_eq!(j["actual"]["sent"], true);
    assert_eq!(j["actual"]["status"], 200);
    assert_eq!(j["actual"]["headers"]["access-control-allow-origin"], APP);
    let exposed = j["actual"]["exposed_headers"]
        .as_array()
        .expect("exposed_headers");
    assert!(exposed.contains(&"x-request-id".into()), "{exposed:?}");

    // Blocked at the actual response: every key is still there.
    let blocked = url(&s.r, "json-blocked", &[("h", ACAO_STAR), ("h", ACAO_STAR)]);
    let out = check(&[&blocked, "--origin", APP, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let j = json(&out);
    assert_eq!(j["verdict"], "blocked");
    assert_eq!(j["reason"], "MultipleAllowOriginValues");
    assert_eq!(j["stage"], "actual");
    assert!(j["fix"].as_str().is_some_and(|f| !f.is_empty()));
    assert!(j["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(j["preflight"]["sent"], false);
    assert!(j["preflight"]["status"].is_null());
    assert!(j["preflight"]["headers"].is_object());
    assert_eq!(j["actual"]["sent"], true);
    assert_eq!(j["actual"]["status"], 200);
    // Two header lines are shown combined.
    assert_eq!(
        j["actual"]["headers"]["access-control-allow-origin"],
        "*, *"
    );
    assert_eq!(j["actual"]["exposed_headers"], serde_json::json!([]));

    // Blocked at the preflight: the actual request was never sent.
    let refused = url(
        &s.r,
        "json-refused",
        &[("pf_status", "403"), ("pfh", ACAO_STAR)],
    );
    let out = check(&[&refused, "--origin", APP, "-X", "PATCH", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let j = json(&out);
    assert_eq!(j["reason"], "PreflightInvalidStatus");
    assert_eq!(j["stage"], "preflight");
    assert_eq!(j["preflight"]["status"], 403);
    assert_eq!(j["actual"]["sent"], false);
    assert!(j["actual"]["exposed_headers"].is_null());
    let methods: Vec<String> = seen("json-refused").into_iter().map(|s| s.method).collect();
    assert_eq!(methods, ["OPTIONS"]);
}

/// Exit 2, one clear line on stderr (or a JSON error object), nothing sent.
fn assert_error(args: &[&str], want: &str) {
    let out = check(args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains(want),
        "{args:?}: want {want:?} in stderr {err:?}"
    );
    assert!(stdout(&out).is_empty(), "{args:?}: stdout {}", stdout(&out));
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = check(&with_json);
    assert_eq!(out.status.code(), Some(2), "{with_json:?}");
    let j = json(&out);
    assert_eq!(j["verdict"], "error", "{with_json:?}");
    assert!(
        j["message"].as_str().is_some_and(|m| m.contains(want)),
        "{with_json:?}: {j}"
    );
}

#[test]
fn errors_exit_2_with_a_clear_message() {
    let s = servers();
    // A port nobody listens on.
    let closed = preflight_test_kit::cli::free_port();
    let refused = format!("http://127.0.0.1:{closed}/api");
    assert_error(&[&refused, "--origin", APP], "connection refused");
    assert_error(&["not a url", "--origin", APP], "is not a URL");
    assert_error(
        &["ftp://127.0.0.1/file", "--origin", APP],
        "only http and https",
    );
    let u = url(&s.r, "errors", &[("h", ACAO_STAR)]);
    assert_error(
        &[&u, "--origin", APP, "-H", "X-Custom"],
        "write a header as 'Name: value'",
    );
    assert_error(
        &[&u, "--origin", APP, "-H", "Bad Name: 1"],
        "is not a header name",
    );
    assert_error(&[&u, "--origin", "app.example.com"], "is not an origin");
    assert!(
        seen("errors").is_empty(),
        "a request was sent despite a bad argument"
    );
    // A missing --origin is a usage error, exit 2 as well.
    let out = check(&[&u]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--origin"), "{}", stderr(&out));
}

#[test]
fn a_non_get_is_sent_only_with_send_actual() {
    let s = servers();
    let acao = format!("Access-Control-Allow-Origin:{APP}");
    let params = [
        ("pfh", acao.as_str()),
        ("pfh", "Access-Control-Allow-Methods:DELETE"),
        ("h", acao.as_str()),
    ];
    let methods =
        |token: &str| -> Vec<String> { seen(token).into_iter().map(|s| s.method).collect() };

    // Without --send-actual: the preflight goes, the DELETE does not.
    let u = url(&s.r, "delete-dry", &params);
    let out = check(&[&u, "--origin", APP, "-X", "DELETE"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("(not sent)") && text.contains("--send-actual"),
        "{text}"
    );
    assert_eq!(methods("delete-dry"), ["OPTIONS"]);
    let out = check(&[&u, "--origin", APP, "-X", "DELETE", "--json"]);
    assert_eq!(json(&out)["actual"]["sent"], false);
    assert_eq!(methods("delete-dry"), ["OPTIONS", "OPTIONS"]);

    // A simple POST needs no preflight: without --send-actual nothing is sent.
    let u = url(&s.r, "post-dry", &params);
    let out = check(&[&u, "--origin", APP, "-X", "POST"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(methods("post-dry").is_empty(), "{:?}", methods("post-dry"));

    // With --send-actual: sent, with its body, and judged.
    let u = url(&s.r, "delete-sent", &params);
    let out = check(&[
        &u,
        "--origin",
        APP,
        "-X",
        "DELETE",
        "--send-actual",
        "-d",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(methods("delete-sent"), ["OPTIONS", "DELETE"]);
    let j = json(&check(&[
        &u,
        "--origin",
        APP,
        "-X",
        "DELETE",
        "--send-actual",
        "--json",
    ]));
    assert_eq!(j["actual"]["sent"], true);
    assert_eq!(j["actual"]["status"], 200);
}

#[test]
fn credentials_and_cookie_go_on_the_actual_request_only() {
    let s = servers();
    let u = url(
        &s.r,
        "cookie",
        &[
            ("pfh", &format!("Access-Control-Allow-Origin:{APP}")),
            ("pfh", "Access-Control-Allow-Credentials:true"),
            ("pfh", "Access-Control-Allow-Headers:x-custom"),
            ("h", &format!("Access-Control-Allow-Origin:{APP}")),
            ("h", "Access-Control-Allow-Credentials:true"),
        ],
    );
    let out = check(&[
        &u,
        "--origin",
        APP,
        "-H",
        "X-Custom: 1",
        "--credentials",
        "include",
        "--cookie",
        "sid=1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let seen = seen("cookie");
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].method, "OPTIONS");
    assert_eq!(
        seen[0].header("cookie"),
        None,
        "credentials: never on a preflight"
    );
    assert_eq!(seen[1].header("cookie"), Some("sid=1"));
    assert_eq!(seen[1].header("x-custom"), Some("1"));
}

#[test]
fn redirects_are_followed_with_a_cors_check_per_hop() {
    let s = servers();
    // r -> p: both hops pass; the second hop is tainted (Origin: null).
    let target = url(&s.p, "redirect-ok", &[("h", ACAO_STAR)]);
    let start = url(
        &s.r,
        "redirect-ok",
        &[("status", "302"), ("h", ACAO_STAR), ("location", &target)],
    );
    let out = check(&[&start, "--origin", APP]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for want in [
        format!("> GET {start}"),
        "< 302 Found".to_string(),
        format!("<   location: {target}"),
        format!("> GET {target}"),
        ">   Origin: null".to_string(),
        "ALLOWED".to_string(),
    ] {
        assert!(text.contains(&want), "missing {want:?} in:\n{text}");
    }
    let hops: Vec<(&str, String)> = seen("redirect-ok")
        .iter()
        .map(|s| (s.server, s.header("origin").unwrap_or_default().to_string()))
        .collect();
    assert_eq!(hops, [("r", APP.to_string()), ("p", "null".to_string())]);
    let j = json(&check(&[&start, "--origin", APP, "--json"]));
    let urls: Vec<&str> = j["exchanges"]
        .as_array()
        .expect("exchanges")
        .iter()
        .filter_map(|e| e["url"].as_str())
        .collect();
    assert_eq!(urls, [start.as_str(), target.as_str()]);

    // The 3xx itself lacks ACAO: blocked there (docs/browser-model.md#cors-check-on-redirects), the target never asked.
    let target = url(&s.p, "redirect-bad-hop", &[("h", ACAO_STAR)]);
    let start = url(
        &s.r,
        "redirect-bad-hop",
        &[("status", "307"), ("location", &target)],
    );
    let out = check(&[&start, "--origin", APP, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let j = json(&out);
    assert_eq!(j["reason"], "MissingAllowOriginHeader");
    assert_eq!(j["stage"], "actual");
    assert_eq!(j["actual"]["status"], 307);
    let at: Vec<&str> = seen("redirect-bad-hop").iter().map(|s| s.server).collect();
    assert_eq!(at, ["r"]);

    // The redirect passes, the final response does not.
    let target = url(
        &s.p,
        "redirect-bad-end",
        &[("h", &format!("Access-Control-Allow-Origin:{APP}"))],
    );
    let start = url(
        &s.r,
        "redirect-bad-end",
        &[("status", "301"), ("h", ACAO_STAR), ("location", &target)],
    );
    let out = check(&[&start, "--origin", APP, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let j = json(&out);
    // After r -> p the request's origin is `null` (docs/browser-model.md#redirect-taint), not APP.
    assert_eq!(j["reason"], "AllowOriginMismatch");
    assert_eq!(j["stage"], "actual");
    let at: Vec<&str> = seen("redirect-bad-end").iter().map(|s| s.server).collect();
    assert_eq!(at, ["r", "p"]);
}

#[test]
fn help_names_the_exit_codes() {
    let out = check(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    assert!(
        help.contains("0 allowed, 1 blocked, 2 error"),
        "check --help:\n{help}"
    );
    for flag in [
        "--origin",
        "--request",
        "--header",
        "--credentials",
        "--send-actual",
        "--json",
    ] {
        assert!(help.contains(flag), "check --help lacks {flag}:\n{help}");
    }
}

/// A sandboxed page has the opaque origin: it sends `Origin: null`, and only
/// `*` or `null` in Access-Control-Allow-Origin lets it read (docs/browser-model.md#cors-check, #origin-serialization).
#[test]
fn the_null_origin_of_a_sandboxed_page() {
    let s = servers();
    let allowed = check(&[
        &url(&s.r, "null-star", &[("h", ACAO_STAR)]),
        "--origin",
        "null",
        "--json",
    ]);
    assert_eq!(allowed.status.code(), Some(0), "{}", stderr(&allowed));
    assert_eq!(seen("null-star")[0].header("origin"), Some("null"));
    let mismatch = check(&[
        &url(
            &s.r,
            "null-app",
            &[("h", &format!("Access-Control-Allow-Origin:{APP}"))],
        ),
        "--origin",
        "null",
        "--json",
    ]);
    assert_eq!(mismatch.status.code(), Some(1));
    assert_eq!(json(&mismatch)["reason"], "AllowOriginMismatch");
}
