//! The engine's scenario table: (policy, route methods, request) -> the whole
//! answer, each row naming (in `pins`) the rule or the documented behaviour it
//! pins.
//!
//! Plain data: a row's policy is its `[cors]` TOML text and its headers are
//! string pairs, so that the core's tests (`Policy::decide` and
//! `Decision::apply`) and the tower layer's (`Service::call`) each turn a row
//! into their own types. [`header_map`] and [`listing`] go between the pairs
//! and `http::HeaderMap`.

mod actual;
mod allowed;
mod exact;
mod policies;
mod refused;

use http::{HeaderMap, HeaderName, HeaderValue};

pub use policies::{
    leak, Row, Toml, ACRH, ACRM, APP, CREDS, EXPOSE, LOWER_PATCH, OK_200, ORIGIN, REJECT, STAR,
    STAR_HEADERS_AUTH, STAR_HEADERS_CREDS, VARY_PREFLIGHT,
};

/// Every row, in a fixed order (failures name rows by their index).
pub fn rows() -> Vec<Row> {
    let mut rows = allowed::rows();
    rows.extend(refused::rows());
    rows.extend(actual::rows());
    rows.extend(exact::rows());
    rows
}

/// A row's header pairs as a `HeaderMap`, in order.
pub fn header_map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).expect("a valid header value in the table"),
        );
    }
    map
}

/// Every (name, value), names in order, values in the order written.
pub fn listing(map: &HeaderMap) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = map
        .keys()
        .flat_map(|name| {
            map.get_all(name).iter().map(move |v| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
