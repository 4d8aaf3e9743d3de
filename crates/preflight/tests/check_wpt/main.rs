//! `preflight check` against a real local HTTP server, for the cases of
//! the web-platform-tests CORS cases (docs/browser-model.md#sources) that one fetch from one page can exercise.
//!
//! The test kit's servers (on 127.0.0.1) play the WPT server scripts, driven
//! by the path and the query, as the WPT servers are (`wpt.rs`):
//!
//! - `/preflight.py`: `fetch/api/resources/preflight.py` (newest copy): `ACAO: *`
//!   or one line per `origin=`, `ACAC: true` with `credentials`, ACMA/ACAH/ACAM
//!   when asked, `preflight_status`; a preflight without ACRM, or without
//!   `Accept: */*`, gets 400 (so every preflighted case also tests docs/browser-model.md#preflight-request).
//! - `/redirect.py`: `fetch/api/resources/redirect.py`: `redirect_status` to
//!   `location`, reflecting `Origin` in ACAO with `ACAC: true` (or `ACAO: *`
//!   without an Origin); a preflight gets 200 unless `redirect_preflight`.
//! - `/cors-preflight.py`: `cors/resources/preflight.py`: a preflight gets
//!   `ACAO: *`, ACAM = the requested method and `ACAH: x-print`.
//! - `/makeheader`: `cors/resources/cors-makeheader.py` made literal (the test
//!   kit's `makeheader`): `status` and `h=Name:Value` for the actual response,
//!   `pf_status` and `pfh=...` for the preflight, `location` for a redirect.
//!
//! Every URL carries `token=<case>`; the server logs each request it gets under
//! its token, so a case can say what was (not) sent: preflights, their headers,
//! the final `Origin`.
//!
//! The binary runs as a user runs it: `preflight check URL --origin O ... --json`.
//! A case passes when the exit code (0 allowed, 1 blocked) and the JSON
//! `verdict` match and, when blocked, `reason` (Chromium's `CorsError` name, as
//! the simulator gives it) and `stage` match.
//!
//! Origins. In sections A to D the page origin is the WPT one,
//! `O = http://web-platform.test:8000`: `check` only sends it as a header. R is
//! one listener, P another ("another origin"; the WPT P is O's host on another
//! port, which a server on 127.0.0.1 cannot be). Section F needs the page's own
//! origin to be a server (redirects to and from O), so there the page origin is
//! a third listener.
//!
//! What `check` cannot express, by design:
//! - A3 (`mode: "no-cors"`): `check` always runs a `cors`-mode fetch, the only
//!   mode that has a CORS verdict; the opaque response is pinned by the
//!   simulator table (`preflight-core/tests/browser_wpt.rs`).
//! - E (preflight cache): `check` runs one fetch per process, with a fresh
//!   cache, so the second request of a cache case never happens in the same
//!   browser session. E1-E5 are covered by the simulator table (an explicit
//!   clock) and by the browser suite against Chromium
//!   (`preflight-browser-tests`).
//! - G (cookies): `check` has no cookie jar; `--cookie` sends a fixed Cookie
//!   header when credentials are included, and nothing stores `Set-Cookie`.
//!   What docs/browser-model.md#credentials decides (credentials go or not) is pinned by the simulator table.
//! - A14 `*\0`: a NUL byte cannot be put in an HTTP header by hyper's server
//!   (`HeaderValue` refuses it), and a client that parses HTTP (httparse)
//!   refuses it too: on the wire it is a network error, not a CORS verdict.

mod harness;
mod wpt;

mod a_cors_check;
mod b_exposure;
mod c_safelists;
mod d_preflight_response;
mod f_redirects;
