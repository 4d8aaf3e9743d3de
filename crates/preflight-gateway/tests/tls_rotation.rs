//! Certificate rotation (docs/deploying.md, "TLS"): when the certificate and
//! key files are replaced, new TLS handshakes get the new pair within about
//! a second, and a connection opened before keeps working.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use http::StatusCode;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

const APP: &str = "https://app.example.com";

fn connector(roots: &[&CertificateDer<'static>]) -> TlsConnector {
    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        store.add((*r).clone()).expect("a root");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(store)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// A TLS connection to the gateway and the certificate it presented.
async fn handshake(
    tls: &TlsConnector,
    port: u16,
) -> (TlsStream<TcpStream>, CertificateDer<'static>) {
    let tcp = tokio::time::timeout(
        Duration::from_secs(5),
        TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    .expect("connect in time")
    .expect("connect");
    let name = ServerName::try_from("localhost").expect("a name");
    let stream = tokio::time::timeout(Duration::from_secs(5), tls.connect(name, tcp))
        .await
        .expect("handshake in time")
        .expect("handshake");
    let presented = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .expect("a certificate")
        .clone()
        .into_owned();
    (stream, presented)
}

/// Write a pair the way a certificate manager does: new files renamed over
/// the old ones.
fn install(dir: &TempDir, ck: &rcgen::CertifiedKey) {
    std::fs::write(dir.join("cert.pem.new"), ck.cert.pem()).expect("cert");
    std::fs::write(dir.join("key.pem.new"), ck.key_pair.serialize_pem()).expect("key");
    std::fs::rename(dir.join("key.pem.new"), dir.join("key.pem")).expect("key in place");
    std::fs::rename(dir.join("cert.pem.new"), dir.join("cert.pem")).expect("cert in place");
}

#[tokio::test]
async fn new_handshakes_get_the_new_certificate_and_open_connections_stay() {
    let up = upstream().await;
    let dir = TempDir::new("gw-rotate");
    let first = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let second = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    install(&dir, &first);
    let text = BASE.replace(
        "[server]\n",
        "[server]\ntls = { cert = \"cert.pem\", key = \"key.pem\" }\n",
    );
    let g = preflight_gateway::start(preflight_gateway::Gateway::new(config(
        &text,
        up.addr,
        Some(dir.path()),
    )))
    .await
    .unwrap();
    let port = g.local_addrs()[0].port();
    let tls = connector(&[first.cert.der(), second.cert.der()]);

    let (old, presented) = handshake(&tls, port).await;
    assert_eq!(&presented, first.cert.der(), "the first pair at start");
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(old))
        .await
        .expect("HTTP over the first connection");
    tokio::spawn(conn);
    let get = || {
        http::Request::get("/api/before")
            .header("host", "localhost")
            .header("origin", APP)
            .body(preflight_gateway::body::empty())
            .unwrap()
    };
    let res = send.send_request(get()).await.expect("a request");
    assert_eq!(res.status(), StatusCode::OK);

    install(&dir, &second);
    let rotated = Instant::now();
    loop {
        let (_, presented) = handshake(&tls, port).await;
        if &presented == second.cert.der() {
            break;
        }
        assert!(
            rotated.elapsed() < Duration::from_secs(5),
            "new handshakes still get the old certificate after {:?}",
            rotated.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "figure: new handshakes got the new certificate {:.2?} after the files were replaced",
        rotated.elapsed()
    );

    // The connection opened before the rotation still serves.
    let res = send
        .send_request(get())
        .await
        .expect("the old connection still works");
    assert_eq!(res.status(), StatusCode::OK);

    // A broken pair (a key that does not fit) is refused; the running pair stays.
    std::fs::write(dir.join("key.pem.new"), first.key_pair.serialize_pem()).unwrap();
    std::fs::rename(dir.join("key.pem.new"), dir.join("key.pem")).unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (_, presented) = handshake(&tls, port).await;
    assert_eq!(
        &presented,
        second.cert.der(),
        "a mismatched pair is not taken"
    );
    g.shutdown().await;
}
