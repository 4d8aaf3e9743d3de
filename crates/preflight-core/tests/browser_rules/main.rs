//! One or more cases of our own for every rule of docs/browser-model.md, named
//! by rule, plus property tests. The byte-level predicates (token bytes, the
//! MIME parser, `Range`, max-age, exposure) are tested beside their code in
//! `src/`.

mod preflight;
mod properties;
mod redirect;
mod request;
mod response;

use std::time::Duration;

use preflight_core::browser::*;
use preflight_core::Origin;

const APP: &str = "https://app.example";
const API: &str = "https://api.example";

fn h(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn origin(s: &str) -> Origin {
    Origin::parse_serialized(s).unwrap()
}

fn request(method: &str, url: &str) -> BrowserRequest {
    BrowserRequest::new(origin(APP), url.parse().unwrap()).method(method)
}

fn api(path: &str) -> String {
    format!("{API}{path}")
}

fn planned(req: &BrowserRequest) -> RequestPlan {
    plan(req, Profile::Chromium).unwrap()
}

fn planned_in(req: &BrowserRequest, profile: Profile) -> RequestPlan {
    plan(req, profile).unwrap()
}

fn acao_app() -> (&'static str, &'static str) {
    ("Access-Control-Allow-Origin", APP)
}

fn name_of<T>(r: &Result<T, preflight_core::browser::Blocked>) -> Option<&'static str> {
    r.as_ref().err().map(|b| b.name())
}

fn follow(p: &RequestPlan, status: u16, headers: &[(&str, &str)]) -> RequestPlan {
    match follow_redirect(p, status, &h(headers)) {
        Ok(RedirectOutcome::Follow(hop)) => hop.next,
        other => panic!("expected a followed redirect, got {other:?}"),
    }
}
