//! The `/makeheader` protocol: WPT's `cors/resources/cors-makeheader.py` made
//! literal, so that a test writes the exact answer into the URL it asks for.
//!
//! - an actual request gets `status` (default 200), one header line per
//!   `h=Name:Value` (the value kept byte for byte), and `Location` from
//!   `location`;
//! - a preflight (`OPTIONS`) gets `pf_status` (default 200) and one line per
//!   `pfh=Name:Value`.
//!
//! The body is empty. A line that is not a valid header makes the answer a
//! 500, so that a test never passes on a header that was silently dropped.
//!
//! ```
//! use preflight_test_kit::makeheader;
//!
//! let url = makeheader::url("http://127.0.0.1:8080", "/makeheader", &[
//!     ("token", "t1"),
//!     ("h", &makeheader::line("Access-Control-Allow-Origin", "*")),
//! ]);
//! assert_eq!(url, "http://127.0.0.1:8080/makeheader?token=t1&h=Access-Control-Allow-Origin%3A*");
//! ```

use crate::server::{Received, Reply};

/// The answer `/makeheader` gives to `req`.
pub fn answer(req: &Received) -> Reply {
    let q = req.query();
    let (status, mut lines) = if req.is_preflight() {
        (q.status("pf_status", 200), literal(q.all("pfh")))
    } else {
        (q.status("status", 200), literal(q.all("h")))
    };
    if !req.is_preflight() {
        if let Some(location) = q.get("location") {
            lines.push(("Location".into(), location.into()));
        }
    }
    Reply::new(status).headers(lines).strict()
}

/// An `h=`/`pfh=` value: `Name:Value`.
pub fn line(name: &str, value: &str) -> String {
    format!("{name}:{value}")
}

/// `base` + `path` + `?` + the pairs, form-encoded, in order.
pub fn url(base: &str, path: &str, params: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        q.append_pair(k, v);
    }
    format!("{base}{path}?{}", q.finish())
}

/// `Name:Value` lines as header pairs.
fn literal(lines: Vec<&str>) -> Vec<(String, String)> {
    lines
        .into_iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}
