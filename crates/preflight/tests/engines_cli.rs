//! `--profile all` as a user meets it: `preflight check` against a live test
//! server and `preflight explain` against the fixture
//! `tests/fixtures/engines.toml`, on requests where the three engines differ
//! (docs/browser-model.md#browser-profiles: Chromium safelists the client
//! hints `DPR` and `Save-Data: on`, Firefox and WebKit preflight them; each
//! engine caps `Access-Control-Max-Age` at its own time); then the dashboard's
//! explain form and the demo page's explain, over real sockets, showing the
//! three verdicts side by side.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use preflight_test_kit::cli::{self, free_ports, json, stdout, wait_for_port, Child};
use preflight_test_kit::{makeheader, raw, Server};
use serde_json::Value;

const APP: &str = "https://app.example.com";

fn preflight(args: &[&str]) -> Output {
    cli::run(Command::new(env!("CARGO_BIN_EXE_preflight")).args(args))
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/engines.toml")
}

fn explain(args: &[&str]) -> Output {
    let config = fixture();
    let mut all = vec![
        "explain",
        "--config",
        config.to_str().expect("a UTF-8 path"),
    ];
    all.extend_from_slice(args);
    preflight(&all)
}

/// The line of `text` that starts with `prefix`; exactly one must.
fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with(prefix)).collect();
    assert_eq!(lines.len(), 1, "one line starting {prefix:?} in:\n{text}");
    lines[0]
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("an object: {v:#}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// The value without the `Date` response headers of a live server (each
/// run has its own).
fn without_dates(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| k.as_str() != "date")
                .map(|(k, v)| (k.clone(), without_dates(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .filter(|pair| {
                    pair[0]
                        .as_str()
                        .is_none_or(|n| !n.eq_ignore_ascii_case("date"))
                })
                .map(without_dates)
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `all[engine]` without `engine_reason` is what `--profile engine` gives alone.
fn assert_same_as_one_profile(all: &Value, engine: &str, one: &Value) {
    let mut each = without_dates(&all[engine]);
    let one = &without_dates(one);
    let engine_reason = each
        .as_object_mut()
        .and_then(|o| o.remove("engine_reason"))
        .unwrap_or_else(|| panic!("{engine} has engine_reason: {all:#}"));
    assert!(engine_reason.is_null() || engine_reason.is_string());
    assert_eq!(&each, one, "{engine}: --profile all vs --profile {engine}");
}

#[test]
fn explain_all_says_which_engine_blocks_and_why() {
    let out = explain(&[
        "--origin",
        APP,
        "-H",
        "Save-Data: on",
        "/api/img",
        "--profile",
        "all",
    ]);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "any engine blocks: exit 1\n{text}"
    );
    assert!(text.contains("profile: all)"), "{text}");
    assert_eq!(
        line(&text, "chromium "),
        "chromium  ALLOWED  script can read the response (status 200)"
    );
    assert_eq!(
        line(&text, "firefox "),
        "firefox   BLOCKED  at the preflight: CORSMissingAllowOrigin"
    );
    assert_eq!(
        line(&text, "webkit "),
        "webkit    BLOCKED  at the preflight: PreflightNotSuccessful"
    );
    assert_eq!(
        line(&text, "engines differ: "),
        "engines differ: firefox and webkit block, chromium allows"
    );
    assert!(
        line(
            &text,
            "  firefox blocks at the preflight: CORSMissingAllowOrigin: "
        )
        .contains("no `Access-Control-Allow-Origin`"),
        "{text}"
    );
    line(
        &text,
        "  webkit blocks at the preflight: PreflightNotSuccessful: ",
    );
    assert_eq!(
        line(&text, "  why they differ: "),
        "  why they differ: chromium safelists save-data and sends no preflight; firefox and \
         webkit preflight it (docs/browser-model.md#safelisted-request-header)"
    );
    // The fix is the configuration's, once for both blocking engines.
    let fix = line(&text, "fix: ");
    assert!(
        fix.contains("add \"save-data\" to allow_headers") && fix.contains("engines.toml:"),
        "{fix}"
    );
    // One profile at a time still reads as before.
    let one = explain(&[
        "--origin",
        APP,
        "-H",
        "Save-Data: on",
        "/api/img",
        "--profile",
        "firefox",
    ]);
    assert_eq!(one.status.code(), Some(1));
    assert!(stdout(&one).contains("BLOCKED  at the preflight: PreflightMissingAllowOriginHeader"));
    let chromium = explain(&["--origin", APP, "-H", "Save-Data: on", "/api/img"]);
    assert_eq!(chromium.status.code(), Some(0), "{}", stdout(&chromium));
}

#[test]
fn explain_all_json_is_an_object_per_engine() {
    let args = ["--origin", APP, "-H", "Save-Data: on", "/api/img", "--json"];
    let run = |profile: &str| {
        let mut a = args.to_vec();
        a.extend(["--profile", profile]);
        let out = explain(&a);
        (out.status.code(), json(&out))
    };
    let (code, all) = run("all");
    assert_eq!(code, Some(1), "{all:#}");
    assert_eq!(keys(&all), ["chromium", "firefox", "webkit"]);
    assert_eq!(all["chromium"]["verdict"], "allowed");
    assert_eq!(all["chromium"]["engine_reason"], Value::Null);
    assert_eq!(all["firefox"]["verdict"], "blocked");
    assert_eq!(all["firefox"]["stage"], "preflight");
    assert_eq!(
        all["firefox"]["reason"],
        "PreflightMissingAllowOriginHeader"
    );
    assert_eq!(all["firefox"]["engine_reason"], "CORSMissingAllowOrigin");
    assert_eq!(all["webkit"]["verdict"], "blocked");
    assert_eq!(all["webkit"]["engine_reason"], "PreflightNotSuccessful");
    for engine in ["chromium", "firefox", "webkit"] {
        let (one_code, one) = run(engine);
        let want = if engine == "chromium" { 0 } else { 1 };
        assert_eq!(one_code, Some(want), "{one:#}");
        assert_same_as_one_profile(&all, engine, &one);
    }
    // An error is the one error object, exit 2.
    let out = explain(&[
        "--origin",
        "not an origin",
        "/api/img",
        "--profile",
        "all",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["verdict"], "error");
}

#[test]
fn explain_all_allowed_everywhere_exits_0_and_shows_each_cache_time() {
    let out = explain(&["--origin", APP, "-X", "PUT", "/api/x", "--profile", "all"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for engine in ["chromium ", "firefox  ", "webkit   "] {
        assert!(line(&text, engine).contains(" ALLOWED  "), "{text}");
    }
    assert!(!text.contains("engines differ"), "{text}");
    // max_age = 86400 in the fixture: each engine's cap (docs/browser-model.md#max-age).
    assert_eq!(
        line(&text, "engines keep "),
        "engines keep this preflight's answer for different times: chromium 7200 s (its cap), \
         firefox 86400 s, webkit 600 s (its cap)"
    );
}

#[test]
fn check_all_against_a_live_server() {
    let server = Server::named("engines", makeheader::answer).expect("a test server starts");
    // GET is answered with `*`; the preflight with `*` and 405.
    let u = makeheader::url(
        &server.origin(),
        "/x",
        &[
            ("token", "check-all"),
            ("h", "Access-Control-Allow-Origin:*"),
            ("pfh", "Access-Control-Allow-Origin:*"),
            ("pf_status", "405"),
        ],
    );
    let out = preflight(&[
        "check",
        &u,
        "--origin",
        APP,
        "-H",
        "DPR: 2",
        "--profile",
        "all",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("profile: all)"), "{text}");
    assert_eq!(
        line(&text, "chromium "),
        "chromium  ALLOWED  script can read the response (status 200)"
    );
    assert_eq!(
        line(&text, "firefox "),
        "firefox   BLOCKED  at the preflight: CORSPreflightDidNotSucceed"
    );
    assert_eq!(
        line(&text, "webkit "),
        "webkit    BLOCKED  at the preflight: PreflightNotSuccessful"
    );
    line(
        &text,
        "engines differ: firefox and webkit block, chromium allows",
    );
    assert!(
        line(
            &text,
            "  firefox blocks at the preflight: CORSPreflightDidNotSucceed: "
        )
        .contains("405"),
        "{text}"
    );
    line(
        &text,
        "  why they differ: chromium safelists dpr and sends no preflight",
    );
    line(&text, "fix: ");
    // Chromium's GET, then one preflight: Firefox and WebKit send it alike,
    // so it goes out once and both read its answer.
    let methods: Vec<String> = server.received().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["GET", "OPTIONS"], "{text}");

    let out = preflight(&[
        "check",
        &u,
        "--origin",
        APP,
        "-H",
        "DPR: 2",
        "--profile",
        "all",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let all = json(&out);
    assert_eq!(keys(&all), ["chromium", "firefox", "webkit"]);
    assert_eq!(all["chromium"]["verdict"], "allowed");
    assert_eq!(all["firefox"]["reason"], "PreflightInvalidStatus");
    assert_eq!(
        all["firefox"]["engine_reason"],
        "CORSPreflightDidNotSucceed"
    );
    assert_eq!(all["firefox"]["preflight"]["status"], 405);
    assert_eq!(all["webkit"]["verdict"], "blocked");
    assert_eq!(all["webkit"]["engine_reason"], "PreflightNotSuccessful");
    let one = preflight(&[
        "check",
        &u,
        "--origin",
        APP,
        "-H",
        "DPR: 2",
        "--profile",
        "webkit",
        "--json",
    ]);
    assert_eq!(one.status.code(), Some(1));
    assert_same_as_one_profile(&all, "webkit", &json(&one));
}

#[test]
fn check_all_sends_a_request_that_changes_data_once() {
    let server = Server::named("once", makeheader::answer).expect("a test server starts");
    let u = makeheader::url(
        &server.origin(),
        "/x",
        &[
            ("token", "once"),
            ("h", &format!("Access-Control-Allow-Origin:{APP}")),
            ("pfh", &format!("Access-Control-Allow-Origin:{APP}")),
            ("pfh", "Access-Control-Allow-Methods:DELETE"),
        ],
    );
    let out = preflight(&[
        "check",
        &u,
        "--origin",
        APP,
        "-X",
        "DELETE",
        "--send-actual",
        "--profile",
        "all",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let deletes = server
        .received()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    assert_eq!(deletes, 1, "{text}");
}

#[test]
fn help_says_what_all_is_and_its_exit_status() {
    for cmd in ["check", "explain"] {
        let out = preflight(&[cmd, "--help"]);
        let help = stdout(&out)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for want in [
            "all: chromium, firefox and webkit side by side",
            "`all` leaves spec out: it is no browser anyone runs",
            "With --profile all: 0 when chromium, firefox and webkit all allow, 1 when any of them blocks.",
            "- webkit",
        ] {
            assert!(help.contains(want), "{cmd} --help lacks {want:?}:\n{help}");
        }
    }
}

/// GET `path` from `addr`, the answer's body.
fn get(addr: SocketAddr, path: &str) -> String {
    let res = raw::request(addr, "GET", path, &[]).unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(res.status, 200, "GET {path}: {}", res.body);
    res.body
}

/// The table row of `engine` in the dashboard's page.
fn row<'a>(page: &'a str, engine: &str) -> &'a str {
    let start = page
        .find(&format!("<tr data-engine={engine}>"))
        .unwrap_or_else(|| panic!("a row for {engine}:\n{page}"));
    let end = page[start..]
        .find("</tr>")
        .map_or(page.len(), |e| start + e);
    &page[start..end]
}

#[test]
fn dashboard_and_demo_show_the_three_verdicts() {
    let ports = free_ports(3);
    let (api, app, admin) = (ports[0], ports[1], ports[2]);
    // Ended (by its id) when the test ends, however it ends.
    let _demo = Child::spawn(
        Command::new(env!("CARGO_BIN_EXE_preflight"))
            .args(["demo", "--api-port", &api.to_string()])
            .args(["--app-port", &app.to_string()])
            .args(["--admin-port", &admin.to_string(), "--exit-after", "60"]),
    );
    for port in [api, app, admin] {
        wait_for_port(port, Duration::from_secs(20));
    }
    let admin_addr = SocketAddr::from(([127, 0, 0, 1], admin));
    let origin = format!("http%3A%2F%2F127.0.0.1%3A{app}");

    // The form's default: the three engines side by side.
    let page = get(
        admin_addr,
        &format!("/?path=%2Fapi%2Ftodos&origin={origin}&headers=Save-Data%3A+on"),
    );
    assert!(page.contains("<option value=all selected>"), "{page}");
    let chromium = row(&page, "chromium");
    assert!(
        chromium.contains("class=ok") && chromium.contains("allowed"),
        "{chromium}"
    );
    let firefox = row(&page, "firefox");
    assert!(
        firefox.contains("class=bad")
            && firefox.contains("blocked at the preflight")
            && firefox.contains("<code>CORSMissingAllowOrigin</code>"),
        "{firefox}"
    );
    let webkit = row(&page, "webkit");
    assert!(
        webkit.contains("class=bad") && webkit.contains("<code>PreflightNotSuccessful</code>"),
        "{webkit}"
    );
    assert!(
        page.contains(
            "<p id=engines-differ class=bad><b>engines differ: firefox and webkit block, \
             chromium allows</b></p>"
        ),
        "{page}"
    );
    assert!(
        page.contains("why they differ: chromium safelists save-data"),
        "{page}"
    );
    // One profile, as the form also offers.
    let page = get(
        admin_addr,
        &format!("/?path=%2Fapi%2Ftodos&origin={origin}&headers=Save-Data%3A+on&profile=firefox"),
    );
    assert!(page.contains("<option value=firefox selected>"), "{page}");
    assert!(page.contains("browser: firefox"), "{page}");
    assert!(!page.contains("<tr data-engine="), "{page}");
    assert!(page.contains("blocked at the preflight: PreflightMissingAllowOriginHeader"));

    // The demo page's explain: Chromium's verdict on top, the engines beside.
    let body = get(
        SocketAddr::from(([127, 0, 0, 1], app)),
        "/explain?path=%2Fapi%2Ftodos&headers=save-data%3A+on",
    );
    let x: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(x["verdict"], "allowed", "{x:#}");
    let engines: Vec<(String, String, String)> = x["engines"]
        .as_array()
        .unwrap_or_else(|| panic!("engines: {x:#}"))
        .iter()
        .map(|e| {
            (
                e["engine"].as_str().unwrap_or_default().to_string(),
                e["verdict"].as_str().unwrap_or_default().to_string(),
                e["reason"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    assert_eq!(
        engines,
        [
            ("chromium".into(), "allowed".into(), "-".into()),
            (
                "firefox".into(),
                "blocked".into(),
                "CORSMissingAllowOrigin".into()
            ),
            (
                "webkit".into(),
                "blocked".into(),
                "PreflightNotSuccessful".into()
            ),
        ]
    );
    assert_eq!(
        x["difference"][0],
        "engines differ: firefox and webkit block, chromium allows"
    );
}
