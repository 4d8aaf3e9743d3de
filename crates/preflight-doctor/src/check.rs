//! `preflight check`: act as the browser against a live server.
//!
//! The decisions are the simulator's (`preflight_core::browser`): this module
//! only sends the requests it plans, with the doctor's client, and prints.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use preflight_core::browser::{
    drive, Delivery, ExchangeKind, Profile, SentRequest, ServerResponse,
};
use url::Url;

use crate::report::Report;

use crate::args::{browser_request, value_name, PageArgs};
use crate::{client, render};

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

/// Run `preflight check`: print the report; exit 0 allowed, 1 blocked, 2 error.
pub async fn run(args: CheckArgs) -> ExitCode {
    render::finish(check(&args).await, args.json)
}

/// Act as the browser: send what the simulator plans for this page's request,
/// and give its report. An error (bad arguments, no connection, TLS failure)
/// is one sentence.
pub async fn check(args: &CheckArgs) -> Result<Report, String> {
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
    let client = client::client(args.cacert.as_deref())?;
    let timeout = Duration::from_secs(args.timeout.max(1));

    let body_cut = std::cell::Cell::new(false);
    let driven = drive(&req, profile, |sent: &SentRequest| {
        let sent = sent.clone();
        let client = &client;
        let body_cut = &body_cut;
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
            let (status, headers, cut) =
                client::send(client, &sent.method, &sent.url, &headers, body, timeout).await?;
            if cut {
                body_cut.set(true);
            }
            Ok::<_, String>(Delivery::Answered(ServerResponse { status, headers }))
        }
    })
    .await?;
    let mut report = Report::from_trace(&driven);
    if body_cut.get() {
        report.context.push(format!(
            "note: a response body was longer than {} KiB: preflight check read that much \
             of it and stopped (the verdict is in the headers)",
            client::BODY_READ_MAX / 1024
        ));
    }
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
