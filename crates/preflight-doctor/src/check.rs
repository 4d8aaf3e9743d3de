//! `preflight check`: act as the browser against a live server.
//!
//! The decisions are the simulator's (`preflight_core::browser`): this module
//! only sends the requests it plans, with the doctor's client, and prints.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use std::cell::{Cell, RefCell};

use preflight_core::browser::{
    drive, BrowserRequest, Delivery, ExchangeKind, FetchTrace, Profile, SentRequest, ServerResponse,
};
use url::Url;

use crate::args::{browser_request, value_name, PageArgs};
use crate::engines::{self, EngineReports};
use crate::report::Report;
use crate::{client, render};

/// Arguments of `preflight check`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    preflight check https://api.example.com/users --origin https://app.example.com\n  \
    preflight check http://127.0.0.1:8080/api/todos --origin http://127.0.0.1:8081 \\\n      -X POST -H 'content-type: application/json' --credentials include --send-actual\n\n\
    Exit status: 0 allowed, 1 blocked, 2 error (bad arguments, connection refused, TLS failure).\n\
    With --profile all: 0 when chromium, firefox and webkit all allow, 1 when any of them blocks.")]
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

/// Run `preflight check`: print the report; exit 0 allowed, 1 blocked, 2
/// error. With `--profile all`: a verdict line per engine; exit 1 when any
/// engine blocks.
pub async fn run(args: CheckArgs) -> ExitCode {
    match args.page.profile.one() {
        Some(_) => render::finish(check(&args).await, args.json),
        None => engines::finish(check_engines(&args).await, args.json),
    }
}

/// Act as the browser: send what the simulator plans for this page's request,
/// and give its report. An error (bad arguments, no connection, TLS failure)
/// is one sentence. `--profile all` is [`check_engines`]'s.
pub async fn check(args: &CheckArgs) -> Result<Report, String> {
    let Some(profile) = args.page.profile.one() else {
        return Err("--profile all gives a report per engine: call check_engines".into());
    };
    let target = Target::of(args)?;
    let wire = Wire::default();
    let (mut report, trace) = check_one(args, &target, profile, &wire).await?;
    report
        .context
        .extend(context(args, &trace, &wire, &value_name(args.page.profile)));
    Ok(report)
}

/// `--profile all`: act as each of the three engines in turn. A request two
/// engines send alike goes out once and both read its answer; an actual
/// request that can change data goes out at most once.
pub async fn check_engines(args: &CheckArgs) -> Result<EngineReports, String> {
    let target = Target::of(args)?;
    let wire = Wire::default();
    let mut runs = Vec::new();
    for profile in Profile::ENGINES {
        let (report, trace) = check_one(args, &target, profile, &wire).await?;
        runs.push((profile, report, trace));
    }
    let context = match runs.first() {
        Some((_, _, trace)) => context(args, trace, &wire, "all"),
        None => Vec::new(),
    };
    Ok(EngineReports::new(context, runs))
}

/// The checked URL, the request the page makes, and the client to send with.
struct Target {
    req: BrowserRequest,
    client: client::HttpsClient,
    timeout: Duration,
}

impl Target {
    fn of(args: &CheckArgs) -> Result<Target, String> {
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
        Ok(Target {
            req,
            client: client::client(args.cacert.as_deref())?,
            timeout: Duration::from_secs(args.timeout.max(1)),
        })
    }
}

/// What went over the wire during one `check`: each request sent and its
/// answer, so that an engine sending the same request reads the same answer
/// (and a request that can change data is not sent twice).
#[derive(Default)]
struct Wire {
    /// Each request with the engine that sent it: an engine re-sends its
    /// own requests (a redirect loop), and reads another engine's answer.
    sent: RefCell<Vec<(Profile, SentRequest, ServerResponse)>>,
    unsafe_actual_sent: Cell<bool>,
    body_cut: Cell<bool>,
}

/// One profile's run against the server, over the shared wire.
async fn check_one(
    args: &CheckArgs,
    target: &Target,
    profile: Profile,
    wire: &Wire,
) -> Result<(Report, FetchTrace), String> {
    let driven = drive(&target.req, profile, |sent: &SentRequest| {
        let sent = sent.clone();
        async move {
            let answered = wire
                .sent
                .borrow()
                .iter()
                .find(|(p, s, _)| *p != profile && *s == sent)
                .map(|(_, _, r)| r.clone());
            if let Some(response) = answered {
                return Ok(Delivery::Answered(response));
            }
            let mut headers = sent.headers.clone();
            if sent.kind == ExchangeKind::Actual {
                let safe = matches!(sent.method.as_str(), "GET" | "HEAD");
                if !safe && !args.send_actual {
                    return Ok(Delivery::Withheld(format!(
                        "not sent: a {} can change data; add --send-actual to send it",
                        sent.method
                    )));
                }
                if !safe && wire.unsafe_actual_sent.get() {
                    return Ok(Delivery::Withheld(format!(
                        "not sent again: a {} can change data, and another engine's {} \
                         was sent already",
                        sent.method, sent.method
                    )));
                }
                if !safe {
                    wire.unsafe_actual_sent.set(true);
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
            let (status, headers, cut) = client::send(
                &target.client,
                &sent.method,
                &sent.url,
                &headers,
                body,
                target.timeout,
            )
            .await?;
            if cut {
                wire.body_cut.set(true);
            }
            let response = ServerResponse { status, headers };
            wire.sent
                .borrow_mut()
                .push((profile, sent, response.clone()));
            Ok::<_, String>(Delivery::Answered(response))
        }
    })
    .await?;
    Ok((Report::from_trace(&driven), driven))
}

/// The lines that say what was checked, and notes on what a browser does
/// differently from what was asked.
fn context(args: &CheckArgs, trace: &FetchTrace, wire: &Wire, profile: &str) -> Vec<String> {
    let mut lines = Vec::new();
    if wire.body_cut.get() {
        lines.push(format!(
            "note: a response body was longer than {} KiB: preflight check read that much \
             of it and stopped (the verdict is in the headers)",
            client::BODY_READ_MAX / 1024
        ));
    }
    if let Some(plan) = &trace.plan {
        lines.push(format!(
            "preflight check: {} {} from {} (credentials: {}, profile: {profile})",
            plan.method,
            plan.url,
            plan.origin,
            value_name(args.page.credentials),
        ));
        if !plan.dropped_headers.is_empty() {
            lines.push(format!(
                "note: a browser never lets a page set {}; they are left out",
                plan.dropped_headers.join(", ")
            ));
        }
        if !plan.cross_origin {
            lines.push(
                "note: the page and the URL are same-origin: CORS does not apply".to_string(),
            );
        }
    }
    lines
}
