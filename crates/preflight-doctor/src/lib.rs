//! `preflight-doctor`: the CORS doctor, the part of preflight that tells you in
//! plain words why a browser blocks a request, and what to change.
//!
//! Three commands, each a module with its arguments and a `run` that prints
//! and gives the exit status, and a function that only computes, for use
//! without the command line:
//!
//! - [`check`]: act as the browser against a live server
//!   ([`check::check`] gives the [`Report`](report::Report));
//! - [`explain`]: offline, what the gateway with a configuration answers and
//!   what a browser then does (the gateway's own layers run in process, see
//!   [`preflight_gateway::explain`]); this module is the command-line side;
//! - [`audit`]: probe a live server for known CORS misconfigurations
//!   ([`audit::audit`] gives the [`Audit`](audit::Audit)).
//!
//! [`args`] holds what `check` and `explain` share (the page's request);
//! [`report`] turns a fetch trace (or an explanation) into the verdict object
//! of `--json` and its text form;
//! [`engines`] prints the three engines' reports side by side
//! (`--profile all`);
//! [`render`] prints a report and gives its exit status. The HTTP client that
//! `check` and `audit` send with (rustls, `--cacert`, one request per call,
//! redirects never followed) is internal.
//!
//! ```no_run
//! use preflight_doctor::args::{Credentials, PageArgs, ProfileArg};
//! use preflight_doctor::check::{check, CheckArgs};
//!
//! # async fn run() -> Result<(), String> {
//! let args = CheckArgs {
//!     url: "https://api.example.com/users".into(),
//!     page: PageArgs {
//!         origin: "https://app.example.com".into(),
//!         method: "PUT".into(),
//!         headers: vec!["content-type: application/json".into()],
//!         credentials: Credentials::Include,
//!         profile: ProfileArg::Chromium,
//!     },
//!     send_actual: false,
//!     data: None,
//!     cookie: None,
//!     timeout: 10,
//!     cacert: None,
//!     json: false,
//! };
//! let report = check(&args).await?;
//! if !report.is_allowed() {
//!     println!("{}", report.to_text());
//! }
//! # Ok(()) }
//! ```
//!
//! Why a crate of its own: the doctor is a library. The decisions are
//! `preflight_core`'s browser simulator and `preflight_gateway`'s layers; this
//! crate sends, asks and prints. The `preflight` binary stays thin: it parses
//! the command line and calls these modules, like ripgrep's binary over its
//! workspace of crates. Dependency order:
//! `preflight-core <- preflight-tower <- preflight-gateway <- preflight-doctor <- preflight`.

// Doc comments of argument structs are clap's --help text, where a bare URL reads
// better than a Markdown link.
#![allow(rustdoc::bare_urls)]

pub mod args;
pub mod audit;
pub mod check;
mod client;
pub mod engines;
pub mod explain;
pub mod render;
pub mod report;
