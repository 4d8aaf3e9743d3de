//! `preflight check`: act as the browser against a live server.
//!
//! The decisions are the simulator's (`preflight_core::browser`): this file
//! only sends the requests it plans, over hyper with rustls, and prints.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use clap::{Args, ValueEnum};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use preflight_core::browser::{
    drive, header_pairs, BrowserRequest, CredentialsMode, Delivery, ExchangeKind, Profile,
    SentRequest, ServerResponse,
};
use preflight_core::Origin;
use url::Url;

use preflight_core::browser::Report;

use crate::report;

/// Arguments of `preflight check`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    preflight check https://api.example.com/users --origin https://app.example.com\n  \
    preflight check http://127.0.0.1:8080/api/todos --origin http://127.0.0.1:8081 \\\n      -X POST -H 'content-type: application/json' --credentials include --send-actual\n\n\
    Exit status: 0 allowed, 1 blocked, 2 error (bad arguments, connection refused, TLS failure).")]
pub struct CheckArgs {
    /// The URL the page fetches.
    pub url: String,
    #[command(flatten)]
    pub page: PageArgs,
    /// Send the actual request even when it is not GET or HEAD (it may change data).
    #[arg(long)]
    pub send_actual: bool,
    /// A request body for the actual request.
    #[arg(short = 'd', long = "data")]
    pub data: Option<String>,
    /// Cookies to send when credentials are included (the browser's cookie jar).
    #[arg(long)]
    pub cookie: Option<String>,
    /// Seconds to wait for each response.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Trust this PEM certificate (or bundle) too, for servers with a private CA.
    #[arg(long, value_name = "PEM")]
    pub cacert: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What the page asks fetch() for: the arguments `check` and `explain` share.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// The page's origin, e.g. https://app.example.com (or `null` for a sandboxed page)
    #[arg(long)]
    pub origin: String,
    /// The request method, as the page passes it to fetch() (normalized as fetch does).
    #[arg(short = 'X', long = "request", default_value = "GET")]
    pub method: String,
    /// A request header the page sets, as 'Name: value'. Repeatable.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// fetch()'s credentials mode.
    #[arg(long, value_enum, default_value_t = Credentials::SameOrigin)]
    pub credentials: Credentials,
    /// Whose rules: current Chromium, or the Fetch standard as written.
    #[arg(long, value_enum, default_value_t = ProfileArg::Chromium)]
    pub profile: ProfileArg,
}

/// fetch()'s credentials modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Credentials {
    Omit,
    SameOrigin,
    Include,
}

impl From<Credentials> for CredentialsMode {
    fn from(c: Credentials) -> Self {
        match c {
            Credentials::Omit => CredentialsMode::Omit,
            Credentials::SameOrigin => CredentialsMode::SameOrigin,
            Credentials::Include => CredentialsMode::Include,
        }
    }
}

/// The simulator's profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    Chromium,
    Spec,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Self {
        match p {
            ProfileArg::Chromium => Profile::Chromium,
            ProfileArg::Spec => Profile::Spec,
        }
    }
}

/// `-H 'Name: value'` arguments as (name, value) pairs.
pub fn parse_header_args(headers: &[String]) -> Result<Vec<(String, String)>, String> {
    headers
        .iter()
        .map(|h| {
            let (name, value) = h
                .split_once(':')
                .ok_or_else(|| format!("-H {h:?}: write a header as 'Name: value'"))?;
            let name = name.trim();
            if name.is_empty() || http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(format!("-H {h:?}: {name:?} is not a header name"));
            }
            Ok((name.to_string(), value.trim().to_string()))
        })
        .collect()
}

/// The name a value has on the command line (`same-origin`).
pub fn value_name(v: impl ValueEnum) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// Build the browser request from the shared arguments of `check` and `explain`.
pub fn browser_request(page: &PageArgs, url: Url) -> Result<BrowserRequest, String> {
    let origin = Origin::of_page(&page.origin)
        .map_err(|e| format!("--origin {:?} is not an origin: {e}", page.origin))?;
    let mut req = BrowserRequest::new(origin, url)
        .method(page.method.as_str())
        .credentials(page.credentials.into());
    for (name, value) in parse_header_args(&page.headers)? {
        req = req.header(name, value);
    }
    Ok(req)
}

/// Run `preflight check`.
pub async fn run(args: CheckArgs) -> ExitCode {
    report::finish(check(&args).await, args.json)
}

type HttpsClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

async fn check(args: &CheckArgs) -> Result<Report, String> {
    let url = Url::parse(&args.url).map_err(|e| format!("{:?} is not a URL: {e}", args.url))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!(
            "{:?}: only http and https URLs can be checked",
            args.url
        ));
    }
    let req = browser_request(&args.page, url)?;
    // fetch() sends any header value without NUL, CR or LF (the plan refuses
    // those, as fetch() does), but the `http` crate refuses the other control
    // bytes too: say so before anything is sent, not after the preflight.
    let unsendable = |v: &str| {
        v.bytes()
            .any(|b| (b < 0x20 && !matches!(b, b'\t' | 0 | b'\r' | b'\n')) || b == 0x7f)
    };
    if let Some((name, _)) = req.headers.iter().find(|(_, v)| unsendable(v)) {
        return Err(format!(
            "-H {name}: the value holds a control character; a browser would send it, \
             but preflight check cannot"
        ));
    }
    let profile: Profile = args.page.profile.into();
    let client = client(args.cacert.as_deref())?;
    let timeout = Duration::from_secs(args.timeout.max(1));

    let driven = drive(&req, profile, |sent: &SentRequest| {
        let sent = sent.clone();
        let client = &client;
        async move {
            let mut headers = sent.headers.clone();
            if sent.kind == ExchangeKind::Actual {
                let safe = matches!(sent.method.as_str(), "GET" | "HEAD");
                if !safe && !args.send_actual {
                    return Ok(Delivery::Withheld(format!(
                        "not sent: a {} can change data; add --send-actual to send it",
                        sent.method
                    )));
                }
                if sent.credentials {
                    if let Some(cookie) = &args.cookie {
                        headers.push(("Cookie".into(), cookie.clone()));
                    }
                }
            }
            let body = match sent.kind {
                ExchangeKind::Actual => args.data.clone().map(Bytes::from),
                ExchangeKind::Preflight => None,
            };
            let (status, headers) =
                send(client, &sent.method, &sent.url, &headers, body, timeout).await?;
            Ok::<_, String>(Delivery::Answered(ServerResponse { status, headers }))
        }
    })
    .await?;
    let mut report = Report::from_trace(&driven);
    if let Some(plan) = &driven.plan {
        report.context.push(format!(
            "preflight check: {} {} from {} (credentials: {}, profile: {})",
            plan.method,
            plan.url,
            plan.origin,
            value_name(args.page.credentials),
            value_name(args.page.profile),
        ));
        if !plan.dropped_headers.is_empty() {
            report.context.push(format!(
                "note: a browser never lets a page set {}; they are left out",
                plan.dropped_headers.join(", ")
            ));
        }
        if !plan.cross_origin {
            report.context.push(
                "note: the page and the URL are same-origin: CORS does not apply".to_string(),
            );
        }
    }
    Ok(report)
}

pub(crate) fn client(cacert: Option<&std::path::Path>) -> Result<HttpsClient, String> {
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

/// Send one request with exactly these headers; return status and headers.
pub(crate) async fn send(
    client: &HttpsClient,
    method: &str,
    url: &Url,
    headers: &[(String, String)],
    body: Option<Bytes>,
    timeout: Duration,
) -> Result<(u16, Vec<(String, String)>), String> {
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
    // Read (and drop) the body so that the connection can be reused.
    let _ = tokio::time::timeout(timeout, response.into_body().collect()).await;
    Ok((status, headers))
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
