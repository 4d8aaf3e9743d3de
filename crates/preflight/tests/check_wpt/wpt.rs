//! The WPT server scripts, played by three of the test kit's servers (`o`,
//! `r`, `p`: three origins), and what they got.

use std::sync::OnceLock;

use preflight_test_kit::{makeheader, Received, Reply, Server};

/// The page origin of sections A to D (only ever sent as a header).
pub(crate) const O: &str = "http://web-platform.test:8000";

/// The three listeners, as origins (`http://127.0.0.1:PORT`).
pub(crate) struct Servers {
    /// The page's own origin in section F.
    pub(crate) o: String,
    pub(crate) r: String,
    pub(crate) p: String,
    running: [Server; 3],
}

pub(crate) fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let start = |name| Server::named(name, handle).expect("a test server starts");
        let (o, r, p) = (start("o"), start("r"), start("p"));
        Servers {
            o: o.origin(),
            r: r.origin(),
            p: p.origin(),
            running: [o, r, p],
        }
    })
}

/// What the servers got under `token`, in arrival order; `server` says which
/// listener (origin) got it.
pub(crate) fn seen(token: &str) -> Vec<Received> {
    let mut seen: Vec<Received> = servers()
        .running
        .iter()
        .flat_map(Server::received)
        .filter(|r| r.query().get("token") == Some(token))
        .collect();
    seen.sort_by_key(|r| r.seq);
    seen
}

type Headers = Vec<(String, String)>;

fn push(h: &mut Headers, name: &str, value: &str) {
    h.push((name.to_string(), value.to_string()));
}

fn handle(req: &Received) -> Reply {
    if req.path_only() == "/makeheader" {
        return makeheader::answer(req);
    }
    let q = req.query();
    let header = |name: &str| req.header(name).map(str::to_string);
    let (acrm, accept, origin) = (
        header("access-control-request-method"),
        header("accept"),
        header("origin"),
    );
    let preflight = req.is_preflight();
    let mut h = Headers::new();
    let status = match req.path_only() {
        "/preflight.py" => {
            push(&mut h, "Content-Type", "text/plain");
            let origins = q.all("origin");
            if origins.is_empty() {
                push(&mut h, "Access-Control-Allow-Origin", "*");
            }
            for o in origins {
                push(&mut h, "Access-Control-Allow-Origin", o);
            }
            if q.has("credentials") {
                push(&mut h, "Access-Control-Allow-Credentials", "true");
            }
            if !preflight {
                200
            } else if acrm.is_none() || accept.as_deref() != Some("*/*") {
                400
            } else {
                for (param, name) in [
                    ("max_age", "Access-Control-Max-Age"),
                    ("allow_headers", "Access-Control-Allow-Headers"),
                    ("allow_methods", "Access-Control-Allow-Methods"),
                ] {
                    if let Some(v) = q.get(param) {
                        push(&mut h, name, v);
                    }
                }
                q.status("preflight_status", 200)
            }
        }
        "/redirect.py" => {
            push(&mut h, "Content-Type", "text/plain");
            push(&mut h, "Cache-Control", "no-cache");
            match &origin {
                Some(o) => {
                    push(&mut h, "Access-Control-Allow-Origin", o);
                    push(&mut h, "Access-Control-Allow-Credentials", "true");
                }
                None => push(&mut h, "Access-Control-Allow-Origin", "*"),
            }
            if preflight {
                if let Some(v) = q.get("allow_headers") {
                    push(&mut h, "Access-Control-Allow-Headers", v);
                }
            }
            if preflight && !q.has("redirect_preflight") {
                200
            } else {
                if let Some(l) = q.get("location") {
                    push(&mut h, "Location", l);
                }
                q.status("redirect_status", 302)
            }
        }
        "/cors-preflight.py" => {
            push(&mut h, "Access-Control-Allow-Origin", "*");
            if preflight {
                push(
                    &mut h,
                    "Access-Control-Allow-Methods",
                    &acrm.unwrap_or_default(),
                );
                push(&mut h, "Access-Control-Allow-Headers", "x-print");
            }
            200
        }
        _ => 404,
    };
    Reply::new(status).headers(h).strict()
}
