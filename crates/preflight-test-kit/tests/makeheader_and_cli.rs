//! The `/makeheader` protocol over a real server, and the CLI helpers on
//! ordinary commands.

use std::process::Command;
use std::time::Duration;

use preflight_test_kit::cli::{self, Child, TempDir};
use preflight_test_kit::{makeheader, raw, Server};

#[test]
fn makeheader_answers_what_the_url_says() {
    let server = Server::start(makeheader::answer).unwrap();
    let url = makeheader::url(
        "",
        "/makeheader",
        &[
            ("status", "302"),
            ("h", &makeheader::line("Access-Control-Allow-Origin", "*")),
            ("h", &makeheader::line("X-Two", "a:b")),
            ("location", "http://127.0.0.1:1/next"),
            ("pf_status", "204"),
            (
                "pfh",
                &makeheader::line("Access-Control-Allow-Methods", "PUT"),
            ),
        ],
    );
    let actual = raw::request(server.addr(), "GET", &url, &[]).unwrap();
    assert_eq!(actual.status, 302);
    assert_eq!(actual.header("access-control-allow-origin"), Some("*"));
    assert_eq!(actual.header("x-two"), Some("a:b"));
    assert_eq!(actual.header("location"), Some("http://127.0.0.1:1/next"));
    assert!(actual.header("access-control-allow-methods").is_none());
    assert_eq!(actual.body, "");

    let preflight = raw::request(server.addr(), "OPTIONS", &url, &[]).unwrap();
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("PUT")
    );
    assert!(preflight.header("location").is_none());

    let bad = makeheader::url("", "/makeheader", &[("h", "Bad Name:1")]);
    assert_eq!(
        raw::request(server.addr(), "GET", &bad, &[])
            .unwrap()
            .status,
        500
    );
}

#[test]
fn run_captures_both_streams_and_the_code() {
    let out = cli::run(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]));
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(cli::stdout(&out), "out\n");
    assert_eq!(cli::stderr(&out), "err\n");
    let out = cli::run(Command::new("sh").args(["-c", "echo '{\"a\": 1}'"]));
    assert_eq!(cli::json(&out)["a"], 1);
    assert!(cli::try_run(&mut Command::new("/nonexistent/binary")).is_err());
}

#[test]
fn a_child_is_watched_and_killed_on_drop() {
    let mut child = Child::spawn(
        Command::new("sh").args(["-c", "echo starting; echo listening on 1 >&2; sleep 30"]),
    );
    let line = child.wait_for_line("listening", Duration::from_secs(10));
    assert_eq!(line, "listening on 1");
    assert!(child.is_running());
    let pid = child.id();
    drop(child);
    let alive = Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!alive.success(), "{pid} still runs");

    let mut quick = Child::spawn(Command::new("sh").args(["-c", "exit 4"]));
    assert_eq!(quick.wait_exit(Duration::from_secs(10)).code(), Some(4));
}

#[test]
#[should_panic(expected = "timed out waiting for nothing")]
fn poll_fails_after_its_deadline() {
    cli::poll("nothing", Duration::from_millis(50), || None::<()>);
}

#[test]
fn temp_dirs_and_ports() {
    let dir = TempDir::new("kit");
    let file = dir.write("a.toml", "x = 1");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x = 1");
    let path = dir.path().to_path_buf();
    drop(dir);
    assert!(!path.exists());

    let ports = cli::free_ports(3);
    assert!(ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2]);
    assert!(std::net::TcpStream::connect(("127.0.0.1", cli::free_port())).is_err());
}
