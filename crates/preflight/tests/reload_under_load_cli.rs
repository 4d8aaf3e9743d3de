//! Reloading while `preflight serve` is under load (RELIABILITY.md, "Reload
//! under load"; docs/configuration.md, "Reloading"): the configuration file is
//! replaced again and again, every fifth version invalid, while clients send
//! preflights and proxied GETs without a pause. No request fails; each
//! invalid version is refused (logged, counted in `/metrics`, shown on the
//! dashboard) and the running configuration stays; each valid version is in
//! effect within a second, its delay measured.
//!
//! Version `k` allows the origin `https://v{k}.example.com` besides the
//! application's and answers preflights with `Access-Control-Max-Age: 100+k`;
//! the delay is from the file's replacement until a preflight from the new
//! origin is allowed with the new max-age. Odd versions are renamed into
//! place, even ones written in place.
#![cfg(target_os = "linux")]

mod reliability_common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use preflight_test_kit::raw::request;
use preflight_test_kit::{Reply, Server};
use reliability_common::*;

/// The longest delay allowed between a replacement and its effect.
const IN_EFFECT: Duration = Duration::from_secs(1);

/// How long a refused version may take to show in `/metrics`.
const REFUSED: Duration = Duration::from_secs(3);

fn version_origin(k: usize) -> String {
    format!("https://v{k}.example.com")
}

/// Version `k` of the file: valid unless `k` is a multiple of 5.
fn version(k: usize, listen: u16, admin: u16, upstream: SocketAddr) -> String {
    let origin = version_origin(k);
    let max_age = 100 + k;
    let mut cors = format!(
        "allow_origins = [\"{APP}\", \"{origin}\"]\nallow_headers = [\"content-type\"]\nmax_age = {max_age}\n"
    );
    let mut server = String::new();
    if k % 5 == 0 {
        // Three ways to be wrong: TOML syntax, an origin no browser sends, a
        // value of the wrong kind.
        match (k / 5) % 3 {
            0 => cors = format!("allow_origins = [\"{APP}\", \"{origin}\"\n"),
            1 => cors = format!("allow_origins = [\"{APP}\", \"{origin}/path\"]\n"),
            _ => server = "upstream_timeout = \"soon\"\n".to_string(),
        }
    }
    format!(
        r#"[server]
{}grace_period = "2s"
{server}
[cors]
{cors}
[[routes]]
path = "/api/{{*rest}}"
methods = ["GET", "PUT"]
upstream = "http://{upstream}"
"#,
        server_lines(listen, admin)
    )
}

/// A preflight for PUT from `origin`: (status, max-age).
fn preflight(listen: SocketAddr, origin: &str) -> Option<(u16, Option<String>)> {
    let r = request(
        listen,
        "OPTIONS",
        "/api/x",
        &[("origin", origin), ("access-control-request-method", "PUT")],
    )
    .ok()?;
    let max_age = r
        .all("access-control-max-age")
        .first()
        .map(|s| s.to_string());
    Some((r.status, max_age))
}

/// Replace the file: renamed into place (odd `k`) or written in place.
fn replace(gateway: &Gateway, k: usize, text: &str) -> Instant {
    if k % 2 == 1 {
        let tmp = gateway.dir.write(&format!("next-{k}.toml"), text);
        std::fs::rename(&tmp, &gateway.config).expect("rename the new version into place");
    } else {
        std::fs::write(&gateway.config, text).expect("write the new version in place");
    }
    Instant::now()
}

#[test]
fn fifty_replacements_under_load_lose_no_request_and_refuse_every_invalid_version() {
    let versions = scale(10, 50);
    let at_least = scale(Duration::ZERO, Duration::from_secs(30));
    let upstream = Server::start(|_| Reply::ok("answer")).expect("the upstream starts");
    let up = upstream.addr();
    let mut gateway = Gateway::start("reload-load", |l, a| version(1, l, a, up));
    let listen = gateway.listen;
    let (lp, ap) = (listen.port(), gateway.admin.port());

    // The load: GETs and preflights from the application's origin, on
    // kept-alive connections (a new one every 20 requests), until told to stop.
    let rt = runtime();
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..8 {
        let (stop, answered, errors) = (stop.clone(), answered.clone(), errors.clone());
        workers.push(rt.spawn(async move {
            let mut conn: Option<Conn> = None;
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                if conn.is_none() || n % 20 == 0 {
                    match Conn::open(listen).await {
                        Ok(c) => conn = Some(c),
                        Err(e) => {
                            errors.lock().unwrap().push(format!("connect: {e:?}"));
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    }
                }
                let Some(c) = conn.as_mut() else { continue };
                n += 1;
                let (h, expect) = if (w + n) % 2 == 0 {
                    (head(listen, "GET", "/api/item", &[("origin", APP)]), 200)
                } else {
                    (
                        head(
                            listen,
                            "OPTIONS",
                            "/api/item",
                            &[("origin", APP), ("access-control-request-method", "PUT")],
                        ),
                        204,
                    )
                };
                match c.send(&h, b"").await {
                    Ok(a)
                        if a.status == expect
                            && a.header("access-control-allow-origin") == Some(APP) =>
                    {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(a) => {
                        errors
                            .lock()
                            .unwrap()
                            .push(format!("{} {:?}", a.status, a.headers));
                        conn = None;
                    }
                    Err(e) => {
                        errors.lock().unwrap().push(format!("{e:?}"));
                        conn = None;
                    }
                }
            }
        }));
    }

    let mut delays = Vec::new();
    let mut refused = 0usize;
    let mut last_valid = 1usize;
    assert_eq!(
        preflight(listen, &version_origin(1)),
        Some((204, Some("101".into())))
    );
    for k in 2..=versions + 1 {
        let text = version(k, lp, ap, up);
        let written = replace(&gateway, k, &text);
        if k % 5 == 0 {
            refused += 1;
            let prefix = "preflight_reloads_total{result=\"failed\"} ";
            let counted = loop {
                let n = gateway.metric(prefix) as usize;
                if n >= refused || written.elapsed() > REFUSED {
                    break n;
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            // At least once: a change the watcher reports late can make
            // the same file be read twice.
            assert!(
                counted >= refused,
                "version {k}: {counted} refusals counted in /metrics, {refused} expected:\n{}",
                gateway.child.output()
            );
            let dashboard = request(gateway.admin, "GET", "/", &[]).expect("the dashboard");
            assert!(
                dashboard
                    .body
                    .contains("refused: the running configuration stays"),
                "version {k}: the dashboard does not show the refusal:\n{}",
                dashboard.body
            );
            // The running configuration stays.
            assert_eq!(
                preflight(listen, &version_origin(last_valid)),
                Some((204, Some((100 + last_valid).to_string()))),
                "version {k}: the running configuration was not kept"
            );
            assert_eq!(
                preflight(listen, &version_origin(k)).map(|p| p.0),
                Some(403)
            );
        } else {
            let want = Some((204, Some((100 + k).to_string())));
            let delay = loop {
                if preflight(listen, &version_origin(k)) == want {
                    break written.elapsed();
                }
                assert!(
                    written.elapsed() < IN_EFFECT + Duration::from_secs(2),
                    "version {k} not in effect after {:?}:\n{}",
                    written.elapsed(),
                    gateway.child.output()
                );
                std::thread::sleep(Duration::from_millis(5));
            };
            assert!(
                delay < IN_EFFECT,
                "version {k} took {delay:?} to be in effect"
            );
            // The whole table was swapped: the last version's origin is gone.
            assert_eq!(
                preflight(listen, &version_origin(last_valid)).map(|p| p.0),
                Some(403)
            );
            delays.push(delay);
            last_valid = k;
        }
        gateway.child.assert_running();
    }
    while started.elapsed() < at_least {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let loaded_for = started.elapsed();
    rt.block_on(async {
        tokio::time::timeout(ANSWER, async {
            for w in workers {
                let _ = w.await;
            }
        })
        .await
    })
    .expect("the load stops");
    drop(rt);

    let log = gateway.child.output();
    let refused_logged = log.matches("reload refused").count();
    let errors = errors.lock().unwrap().clone();
    let answered = answered.load(Ordering::Relaxed);
    let valid = delays.len();
    let (min, p50, max) = (
        delays.iter().min().copied().unwrap_or_default(),
        percentile(&mut delays, 50.0),
        delays.iter().max().copied().unwrap_or_default(),
    );
    println!(
        "figure: reload under load: {versions} replacements in {loaded_for:.1?} of load ({valid} valid, {refused} invalid); {answered} requests answered, {} failed",
        errors.len()
    );
    println!(
        "figure: reload under load: valid versions in effect after min {} p50 {} max {}",
        ms(min),
        ms(p50),
        ms(max)
    );
    println!(
        "figure: reload under load: {refused} invalid versions refused: {} in /metrics, {refused_logged} logged, each shown on the dashboard",
        gateway.metric("preflight_reloads_total{result=\"failed\"} ")
    );
    assert!(
        errors.is_empty(),
        "{} requests failed, first: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    assert!(answered > 0, "no request was answered");
    let failed_counted = gateway.metric("preflight_reloads_total{result=\"failed\"} ") as usize;
    assert!(refused_logged >= refused, "{log}");
    assert_eq!(refused_logged, failed_counted, "{log}");
    let ok_counted = gateway.metric("preflight_reloads_total{result=\"ok\"} ") as usize;
    assert!(
        ok_counted >= valid,
        "{ok_counted} reloads counted ok, {valid} valid versions\n{log}"
    );
}
