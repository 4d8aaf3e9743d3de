//! The doctor's HTTP client, used by `check` and `audit`: hyper over rustls
//! (the webpki roots, plus `--cacert`), one request per call with exactly the
//! headers given, redirects never followed, and transport errors worded for a
//! person.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use preflight_core::browser::header_pairs;
use url::Url;

/// The client `check` and `audit` send with.
pub(crate) type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client that trusts the webpki roots and, with `--cacert`, the PEM
/// certificates of that file.
pub(crate) fn client(cacert: Option<&Path>) -> Result<HttpsClient, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = cacert {
        let pem = std::fs::read(path).map_err(|e| format!("--cacert {}: {e}", path.display()))?;
        let mut reader = std::io::BufReader::new(pem.as_slice());
        let mut added = 0;
        for cert in rustls_pemfile::certs(&mut reader) {
            let cert = cert.map_err(|e| format!("--cacert {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("--cacert {}: {e}", path.display()))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!(
                "--cacert {}: no PEM certificate in the file",
                path.display()
            ));
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    // Chromium writes HTTP/1.1 header names in Title-Case
    // (`Access-Control-Request-Method`); so does `check`, to the letter.
    Ok(Client::builder(TokioExecutor::new())
        .http1_title_case_headers(true)
        .build(https))
}

/// The most of a response body `check` and `audit` read: the verdict is in
/// the headers; the body is read only so that the connection can be reused.
pub const BODY_READ_MAX: usize = 64 * 1024;

/// What came back: the status, the header lines, and whether the body was
/// longer than [`BODY_READ_MAX`] (its reading then stopped there).
pub(crate) type Sent = (u16, Vec<(String, String)>, bool);

/// Send one request with exactly these headers; return status and headers.
pub(crate) async fn send(
    client: &HttpsClient,
    method: &str,
    url: &Url,
    headers: &[(String, String)],
    body: Option<Bytes>,
    timeout: Duration,
) -> Result<Sent, String> {
    let mut builder = http::Request::builder().method(method).uri(url.as_str());
    for (k, v) in headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    if !has("user-agent") {
        builder = builder.header(
            "user-agent",
            concat!("preflight-check/", env!("CARGO_PKG_VERSION")),
        );
    }
    if !has("sec-fetch-mode") {
        builder = builder.header("sec-fetch-mode", "cors");
    }
    let request = builder
        .body(Full::new(body.unwrap_or_default()))
        .map_err(|e| format!("cannot build the {method} request: {e}"))?;
    let host = url.host_str().unwrap_or("?").to_string();
    let port = url.port_or_known_default().unwrap_or(0);
    let response = tokio::time::timeout(timeout, client.request(request))
        .await
        .map_err(|_| format!("{method} {url}: no response within {} s", timeout.as_secs()))?
        .map_err(|e| describe_client_error(&e, &host, port))?;
    let status = response.status().as_u16();
    let headers = header_pairs(response.headers());
    // Read (and drop) the body so that the connection can be reused, up to
    // BODY_READ_MAX: past it, the connection is dropped instead.
    let read = async {
        let mut body = response.into_body();
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            if let Some(data) = frame.data_ref() {
                seen += data.len();
                if seen > BODY_READ_MAX {
                    return true;
                }
            }
        }
        false
    };
    let cut = tokio::time::timeout(timeout, read).await.unwrap_or(false);
    Ok((status, headers, cut))
}

fn describe_client_error(e: &hyper_util::client::legacy::Error, host: &str, port: u16) -> String {
    use std::error::Error as _;
    let mut chain = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    let detail = chain.join(": ");
    if detail.contains("Connection refused") {
        format!("cannot connect to {host}:{port}: connection refused. Is the server running?")
    } else if detail.contains("certificate") || detail.contains("tls") || detail.contains("TLS") {
        format!("TLS failure with {host}:{port}: {detail} (use --cacert for a private CA)")
    } else if detail.contains("dns") || detail.contains("lookup") {
        format!("cannot resolve {host}: {detail}")
    } else if detail.is_empty() {
        format!("request to {host}:{port} failed: {e}")
    } else {
        format!("request to {host}:{port} failed: {detail}")
    }
}
