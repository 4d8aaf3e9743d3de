//! A request as the [`Server`](super::Server) recorded it, and its query.

use bytes::Bytes;

/// One request the server got, in the order requests arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// Order of arrival across every server of this process, so that the
    /// requests of several servers (several origins) can be put in one order.
    pub seq: u64,
    /// The name of the server that got it ([`Server::named`](super::Server::named));
    /// empty for an unnamed one.
    pub server: &'static str,
    pub method: String,
    /// The path and the query, as the request line had them.
    pub path: String,
    /// Every header line, names lower-cased (as hyper gives them), in order.
    pub headers: Vec<(String, String)>,
    /// The whole body; empty for a [`Server::streaming`](super::Server::streaming)
    /// handler, which reads the body itself.
    pub body: Bytes,
}

impl Received {
    /// The first value of the header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of the header `name` (any case), in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The path without the query.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    /// The query, decoded as a form (`a=1&b=2`).
    pub fn query(&self) -> Query {
        let raw = self.path.split_once('?').map(|(_, q)| q).unwrap_or("");
        Query(
            url::form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn is_preflight(&self) -> bool {
        self.method == "OPTIONS"
    }
}

/// The decoded pairs of a query, in order, repeated names kept.
#[derive(Debug, Clone, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// `name` as a status code, or `default` when it is absent or not a number.
    pub fn status(&self, name: &str, default: u16) -> u16 {
        self.get(name)
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    }
}
