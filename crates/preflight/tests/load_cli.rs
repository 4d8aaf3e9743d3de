//! Load on `preflight serve` over 127.0.0.1 (RELIABILITY.md, "Load"): ten
//! thousand connections held open at once and each served, twice, with no
//! error; the gateway's memory per thousand connections; and a mix of
//! preflights, proxied GETs and 1 MiB uploads at once, with no error.
//!
//! The real binary in front of the test kit's server; the load client is
//! tokio in the test. `PREFLIGHT_RELIABILITY=long` (bench/reliability.sh)
//! runs the mix longer.
#![cfg(target_os = "linux")]

mod reliability_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use preflight_test_kit::{Reply, Server};
use reliability_common::*;
use tokio::sync::{watch, Semaphore};

/// Connections held at once.
const CONNECTIONS: usize = 10_000;

/// How many connects are in progress at once (under the listen backlog).
const CONNECTING: usize = 256;

/// The whole test's bound.
const WHOLE: Duration = Duration::from_secs(240);

/// The two tests measure: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

fn config(listen: u16, admin: u16, upstream: std::net::SocketAddr, max: usize) -> String {
    format!(
        r#"[server]
{}grace_period = "5s"
max_connections = {max}

[cors]
allow_origins = ["{APP}"]
allow_headers = ["content-type"]
max_age = 600

[[routes]]
path = "/api/{{*rest}}"
methods = ["GET", "POST"]
upstream = "http://{upstream}"
"#,
        server_lines(listen, admin)
    )
}

/// What a served GET must look like.
fn check_get(a: &Answer, body: &[u8]) -> Result<(), String> {
    if a.status != 200 || a.body != body || a.header("access-control-allow-origin") != Some(APP) {
        return Err(format!(
            "{} {:?} {:?}",
            a.status,
            a.header("access-control-allow-origin"),
            String::from_utf8_lossy(&a.body)
        ));
    }
    Ok(())
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn ten_thousand_connections_are_held_open_and_each_served_twice_without_error() {
    let _one = one_at_a_time();
    // The client's sockets, the upstream's, and the gateway's (which
    // inherits the limit): 10,000 client connections fit a limit of 20,000;
    // the gateway's own cap by the file limit would be (20000 − 128) / 2, so
    // it is given max_connections = 10000.
    let limit = raise_file_limit(20_000, CONNECTIONS as u64 + 2_000);
    let upstream = Server::start(|_| Reply::ok("hello").header("content-type", "text/plain"))
        .expect("the upstream starts");
    let up = upstream.addr();
    let gateway = Gateway::start("load-10k", |l, a| config(l, a, up, CONNECTIONS));
    let listen = gateway.listen;
    let pid = gateway.pid();

    let rt = runtime();
    let outcome = rt.block_on(async move {
        tokio::time::timeout(WHOLE, async move {
            // Warm up: the pool to the upstream, the allocator.
            for _ in 0..20 {
                let mut c = Conn::open(listen)
                    .await
                    .map_err(|e| format!("warm-up: {e:?}"))?;
                let a = c
                    .send(&head(listen, "GET", "/api/warm", &[("origin", APP)]), b"")
                    .await
                    .map_err(|e| format!("warm-up: {e:?}"))?;
                check_get(&a, b"hello")?;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            let rss_before = rss_kib(pid);
            let fds_before = fds(pid);

            // Round 1: open every connection and send one request on it.
            let opened = Instant::now();
            let gate = Arc::new(Semaphore::new(CONNECTING));
            let mut tasks = Vec::with_capacity(CONNECTIONS);
            for i in 0..CONNECTIONS {
                let gate = gate.clone();
                tasks.push(tokio::spawn(async move {
                    let _permit = gate.acquire_owned().await.map_err(|e| e.to_string())?;
                    let mut c = Conn::open(listen)
                        .await
                        .map_err(|e| format!("connect: {e:?}"))?;
                    let path = format!("/api/one/{i}");
                    let sent = Instant::now();
                    let a = c
                        .send(&head(listen, "GET", &path, &[("origin", APP)]), b"")
                        .await
                        .map_err(|e| format!("round 1: {e:?}"))?;
                    check_get(&a, b"hello")?;
                    Ok::<_, String>((c, sent.elapsed()))
                }));
            }
            let mut conns = Vec::with_capacity(CONNECTIONS);
            let mut first = Vec::with_capacity(CONNECTIONS);
            let mut errors = Vec::new();
            for t in tasks {
                match t.await {
                    Ok(Ok((c, took))) => {
                        conns.push(c);
                        first.push(took);
                    }
                    Ok(Err(e)) => errors.push(e),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            let open_took = opened.elapsed();
            tokio::time::sleep(Duration::from_millis(300)).await;
            let rss_open = rss_kib(pid);
            let fds_open = fds(pid);

            // Round 2: every connection, still open, sends at once.
            let (go_tx, go_rx) = watch::channel(false);
            let ready = Arc::new(AtomicUsize::new(0));
            let mut tasks = Vec::with_capacity(conns.len());
            for (i, mut c) in conns.into_iter().enumerate() {
                let mut go = go_rx.clone();
                let ready = ready.clone();
                tasks.push(tokio::spawn(async move {
                    ready.fetch_add(1, Ordering::SeqCst);
                    let _ = go.wait_for(|g| *g).await;
                    let path = format!("/api/two/{i}");
                    let sent = Instant::now();
                    let a = c
                        .send(&head(listen, "GET", &path, &[("origin", APP)]), b"")
                        .await
                        .map_err(|e| format!("round 2: {e:?}"))?;
                    check_get(&a, b"hello")?;
                    Ok::<_, String>((c, sent.elapsed()))
                }));
            }
            let wait_ready = Instant::now();
            while ready.load(Ordering::SeqCst) < tasks.len() && wait_ready.elapsed() < ANSWER {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let round_two = Instant::now();
            go_tx.send_replace(true);
            let mut second = Vec::with_capacity(tasks.len());
            let mut kept = Vec::with_capacity(tasks.len());
            for t in tasks {
                match t.await {
                    Ok(Ok((c, took))) => {
                        kept.push(c);
                        second.push(took);
                    }
                    Ok(Err(e)) => errors.push(e),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            let round_two_took = round_two.elapsed();
            let held = kept.len();
            drop(kept);
            Ok::<_, String>((
                errors,
                first,
                second,
                held,
                open_took,
                round_two_took,
                (rss_before, rss_open),
                (fds_before, fds_open),
            ))
        })
        .await
    });
    let (errors, mut first, mut second, held, open_took, round_two_took, rss, fd) = outcome
        .unwrap_or_else(|_| panic!("the load did not finish within {WHOLE:?}"))
        .unwrap_or_else(|e| panic!("{e}"));
    drop(rt);

    let per_thousand = rss.1.saturating_sub(rss.0) as f64 / (CONNECTIONS as f64 / 1000.0);
    println!(
        "figure: load: {held} connections held at once (file limit {limit}, max_connections = {CONNECTIONS}); {} requests failed",
        errors.len()
    );
    println!(
        "figure: load: round 1 (connect and one GET each, {CONNECTING} connecting at once) took {:.2?}: p50 {} p99 {}",
        open_took,
        ms(percentile(&mut first, 50.0)),
        ms(percentile(&mut first, 99.0))
    );
    println!(
        "figure: load: round 2 ({} GETs sent at once on the open connections) took {:.2?}: p50 {} p99 {}",
        second.len(),
        round_two_took,
        ms(percentile(&mut second, 50.0)),
        ms(percentile(&mut second, 99.0))
    );
    println!(
        "figure: load: gateway RSS {} KiB before, {} KiB with {CONNECTIONS} connections open: {:.0} KiB per 1,000 connections; open files {} -> {}",
        rss.0, rss.1, per_thousand, fd.0, fd.1
    );
    assert!(
        errors.is_empty(),
        "{} failed, first: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    assert_eq!(held, CONNECTIONS);
    assert_eq!(second.len(), CONNECTIONS);
    assert!(
        fd.1 >= fd.0 + CONNECTIONS,
        "the gateway did not hold {CONNECTIONS} sockets at once: {} -> {}",
        fd.0,
        fd.1
    );
    let hits = upstream.hits();
    assert!(hits >= 2 * CONNECTIONS, "the upstream saw {hits} requests");
}

/// The kinds of request in the mix.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Preflight,
    Get,
    Upload,
}

const UPLOAD: usize = 1 << 20;

async fn one(c: &mut Conn, kind: Kind, body: &[u8]) -> Result<(), String> {
    let listen = c.addr();
    match kind {
        Kind::Preflight => {
            let a = c
                .send(
                    &head(
                        listen,
                        "OPTIONS",
                        "/api/upload",
                        &[
                            ("origin", APP),
                            ("access-control-request-method", "POST"),
                            ("access-control-request-headers", "content-type"),
                        ],
                    ),
                    b"",
                )
                .await
                .map_err(|e| format!("preflight: {e:?}"))?;
            if a.status != 204 || a.header("access-control-allow-origin") != Some(APP) {
                return Err(format!("preflight: {} {:?}", a.status, a.headers));
            }
        }
        Kind::Get => {
            let a = c
                .send(&head(listen, "GET", "/api/item", &[("origin", APP)]), b"")
                .await
                .map_err(|e| format!("get: {e:?}"))?;
            check_get(&a, b"0")?;
        }
        Kind::Upload => {
            let len = body.len().to_string();
            let h = head(
                listen,
                "POST",
                "/api/upload",
                &[
                    ("origin", APP),
                    ("content-type", "application/octet-stream"),
                    ("content-length", &len),
                ],
            );
            let a = c
                .send(&h, body)
                .await
                .map_err(|e| format!("upload: {e:?}"))?;
            check_get(&a, len.as_bytes()).map_err(|e| format!("upload: {e}"))?;
        }
    }
    Ok(())
}

#[test]
fn a_mix_of_preflights_gets_and_1_mib_uploads_at_once_has_no_error() {
    let _one = one_at_a_time();
    let run_for = scale(Duration::from_secs(3), Duration::from_secs(30));
    let upstream =
        Server::start(|req| Reply::ok(req.body.len().to_string())).expect("the upstream starts");
    let up = upstream.addr();
    let gateway = Gateway::start("load-mix", |l, a| config(l, a, up, 1000));
    let listen = gateway.listen;
    let workers = [(Kind::Preflight, 16), (Kind::Get, 16), (Kind::Upload, 4)];
    let latencies: Arc<Mutex<Vec<(usize, Duration)>>> = Arc::default();
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();

    let rt = runtime();
    let finished = rt.block_on(async {
        let body: Arc<Vec<u8>> = Arc::new((0..UPLOAD).map(|i| (i % 251) as u8).collect());
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (k, (kind, n)) in workers.iter().enumerate() {
            for _ in 0..*n {
                let (kind, body) = (*kind, body.clone());
                let (latencies, errors) = (latencies.clone(), errors.clone());
                tasks.push(tokio::spawn(async move {
                    let mut conn: Option<Conn> = None;
                    let mut sent = 0usize;
                    while started.elapsed() < run_for {
                        // A new connection every 50 requests.
                        if conn.is_none() || sent % 50 == 0 {
                            match Conn::open(listen).await {
                                Ok(c) => conn = Some(c),
                                Err(e) => {
                                    errors.lock().unwrap().push(format!("connect: {e:?}"));
                                    return;
                                }
                            }
                        }
                        let Some(c) = conn.as_mut() else { return };
                        let t = Instant::now();
                        let r = one(c, kind, &body).await;
                        sent += 1;
                        match r {
                            Ok(()) => latencies.lock().unwrap().push((k, t.elapsed())),
                            Err(e) => {
                                errors.lock().unwrap().push(e);
                                conn = None;
                            }
                        }
                    }
                }));
            }
        }
        tokio::time::timeout(run_for + ANSWER, async {
            for t in tasks {
                let _ = t.await;
            }
        })
        .await
        .is_ok()
    });
    drop(rt);
    assert!(finished, "the mix did not end in time");
    let errors = errors.lock().unwrap().clone();
    let latencies = latencies.lock().unwrap().clone();
    let mut total = 0;
    for (k, (kind, n)) in workers.iter().enumerate() {
        let mut xs: Vec<Duration> = latencies
            .iter()
            .filter(|(i, _)| *i == k)
            .map(|(_, d)| *d)
            .collect();
        total += xs.len();
        println!(
            "figure: mix: {kind:?} ({n} connections): {} answered in {run_for:?}, p50 {} p99 {}",
            xs.len(),
            ms(percentile(&mut xs, 50.0)),
            ms(percentile(&mut xs, 99.0))
        );
        assert!(!xs.is_empty(), "no {kind:?} was answered");
    }
    println!(
        "figure: mix: {total} requests answered, {} failed",
        errors.len()
    );
    assert!(
        errors.is_empty(),
        "{} failed, first: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    let log = gateway.child.output();
    assert!(!log.contains("Too many open files"), "{log}");
}
