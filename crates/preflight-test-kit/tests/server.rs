//! The scripted server and the raw client, against each other.

use std::time::{Duration, Instant};

use http::Response;
use preflight_test_kit::raw;
use preflight_test_kit::server::{self, Reply, Server};

#[test]
fn records_every_request_in_arrival_order_before_answering() {
    let server = Server::named("r", |req| {
        Reply::ok(format!("{} {}", req.method, req.path))
            .header("x-seen", req.body.len().to_string())
    })
    .unwrap();
    let first = raw::request(
        server.addr(),
        "GET",
        "/a?token=t&h=x%3A1",
        &[("origin", "null")],
    )
    .unwrap();
    assert_eq!(first.status, 200);
    assert_eq!(first.body, "GET /a?token=t&h=x%3A1");
    let body = "POST /b HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello";
    let second =
        raw::Response::parse(&raw::exchange(server.addr(), body.as_bytes()).unwrap()).unwrap();
    assert_eq!(second.header("x-seen"), Some("5"));

    let got = server.received();
    assert_eq!(got.len(), 2);
    assert!(got[0].seq < got[1].seq);
    assert_eq!((got[0].server, got[0].method.as_str()), ("r", "GET"));
    assert_eq!(got[0].path_only(), "/a");
    assert_eq!(got[0].query().get("token"), Some("t"));
    assert_eq!(got[0].query().all("h"), ["x:1"]);
    assert_eq!(got[0].header("Origin"), Some("null"));
    assert_eq!(&got[1].body[..], b"hello");
    assert_eq!(server.hits(), 2);
    assert_eq!(server.last().map(|r| r.method), Some("POST".to_string()));
}

#[test]
fn a_reply_keeps_its_header_lines_and_may_be_http10() {
    let server = Server::start(|_| {
        Reply::new(201)
            .header("a", "1")
            .header("a", "2")
            .header("bad name", "dropped")
            .version(http::Version::HTTP_10)
    })
    .unwrap();
    let raw = raw::exchange(
        server.addr(),
        b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.0 201 Created\r\n"), "{text}");
    let r = raw::Response::parse(&raw).unwrap();
    assert_eq!(r.all("a"), ["1", "2"]);
    assert!(r.header("bad name").is_none());
}

#[test]
fn strict_turns_an_invalid_line_into_a_500() {
    let server = Server::start(|req| {
        let value = if req.path == "/bad" { "\u{1}" } else { "ok" };
        Reply::ok("").header("x", value).strict()
    })
    .unwrap();
    assert_eq!(
        raw::request(server.addr(), "GET", "/bad", &[])
            .unwrap()
            .status,
        500
    );
    let good = raw::request(server.addr(), "GET", "/good", &[]).unwrap();
    assert_eq!((good.status, good.header("x")), (200, Some("ok")));
}

#[test]
fn a_held_answer_does_not_hold_other_connections() {
    let server = Server::start(|req| {
        if req.path == "/slow" {
            Reply::ok("slow").after(Duration::from_millis(600))
        } else {
            Reply::ok("fast")
        }
    })
    .unwrap();
    let addr = server.addr();
    let slow = std::thread::spawn(move || raw::request(addr, "GET", "/slow", &[]).unwrap());
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    assert_eq!(
        raw::request(addr, "GET", "/fast", &[]).unwrap().body,
        "fast"
    );
    assert!(started.elapsed() < Duration::from_millis(400));
    assert_eq!(slow.join().unwrap().body, "slow");
}

#[tokio::test]
async fn a_streaming_handler_reads_the_request_itself() {
    let server = Server::streaming(|req: http::Request<hyper::body::Incoming>| async move {
        use http_body_util::BodyExt;
        let n = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().len())
            .unwrap_or(0);
        Response::new(server::full(format!("{n} bytes")))
    })
    .unwrap();
    let addr = server.addr();
    let r = tokio::task::spawn_blocking(move || {
        raw::Response::parse(
            &raw::exchange(
                addr,
                b"PUT /up HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc",
            )
            .unwrap(),
        )
        .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(r.body, "3 bytes");
    // Recorded on arrival, without the body the handler read.
    let got = server.received();
    assert_eq!((got[0].method.as_str(), got[0].body.len()), ("PUT", 0));
}

#[test]
fn a_dropped_server_is_stopped() {
    let server = Server::start(|_| Reply::ok("")).unwrap();
    let addr = server.addr();
    assert!(raw::request(addr, "GET", "/", &[]).is_ok());
    drop(server);
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn the_tuple_form_is_a_reply() {
    let server =
        Server::start(|_| (404, vec![("x-a".into(), "1".into())], "gone".to_string())).unwrap();
    let r = raw::request(server.addr(), "GET", "/", &[]).unwrap();
    assert_eq!(
        (r.status, r.header("x-a"), r.body.as_str()),
        (404, Some("1"), "gone")
    );
}
