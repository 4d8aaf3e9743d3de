//! One probe on the wire: a GET and a preflight `OPTIONS` with the probe's
//! `Origin`, and what came back.

use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::class::{ProbeClass, ProbeResult};
use crate::client::{self, HttpsClient};

/// One origin sent, with the two answers it got.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub class: ProbeClass,
    pub origin_sent: String,
    pub get: Answer,
    pub preflight: Answer,
    pub result: ProbeResult,
}

/// What came back for one request (or why nothing did).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Answer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Every `Access-Control-Allow-Origin` header's value.
    pub acao: Vec<String>,
    /// `Access-Control-Allow-Credentials`, the headers joined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acac: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vary: Option<String>,
    /// Where a 3xx points (never followed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Why there is no answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The body was longer than the most audit reads, and its reading stopped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub body_cut: bool,
}

impl Answer {
    fn from_headers(status: u16, headers: &[(String, String)]) -> Answer {
        let all = |name: &str| -> Vec<String> {
            headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .collect()
        };
        let joined = |name: &str| {
            let v = all(name);
            (!v.is_empty()).then(|| v.join(", "))
        };
        Answer {
            status: Some(status),
            acao: all("access-control-allow-origin"),
            acac: joined("access-control-allow-credentials"),
            vary: joined("vary"),
            location: (300..400)
                .contains(&status)
                .then(|| joined("location"))
                .flatten(),
            error: None,
            body_cut: false,
        }
    }

    /// No answer, and why.
    pub(crate) fn lost(error: impl Into<String>) -> Answer {
        Answer {
            error: Some(error.into()),
            ..Answer::default()
        }
    }

    /// The one ACAO value, when there is exactly one header.
    pub(crate) fn single_acao(&self) -> Option<&str> {
        match self.acao.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        }
    }

    /// Fetch, "CORS check": the ACAO is byte-equal to the origin sent (`null` included).
    pub(crate) fn echoes(&self, origin: &str) -> bool {
        self.single_acao() == Some(origin)
    }

    /// Fetch: credentials are allowed only by the exact value `true`.
    pub(crate) fn credentials(&self) -> bool {
        self.acac.as_deref() == Some("true")
    }

    pub(crate) fn varies_on_origin(&self) -> bool {
        self.vary.as_deref().is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t.eq_ignore_ascii_case("origin") || t == "*")
        })
    }

    /// One line for the text output.
    pub(crate) fn summary(&self) -> String {
        if let Some(e) = &self.error {
            return format!("error: {e}");
        }
        let status = self.status.map(|s| s.to_string()).unwrap_or_default();
        let acao = if self.acao.is_empty() {
            "no ACAO".to_string()
        } else {
            format!("ACAO {}", self.acao.join(" + "))
        };
        let mut s = format!("{status} {acao}");
        if let Some(acac) = &self.acac {
            s.push_str(&format!(", ACAC {acac}"));
        }
        if let Some(loc) = &self.location {
            s.push_str(&format!(", redirect to {loc} (not followed)"));
        }
        s
    }
}

/// One GET and one preflight with this Origin; transport errors become answers.
pub(crate) async fn exchange(
    client: &HttpsClient,
    url: &Url,
    method: &http::Method,
    origin: &str,
    timeout: Duration,
) -> (Answer, Answer) {
    let common = [
        ("Origin".to_string(), origin.to_string()),
        ("Cache-Control".to_string(), "no-cache".to_string()),
        (
            "User-Agent".to_string(),
            concat!("preflight-audit/", env!("CARGO_PKG_VERSION")).to_string(),
        ),
    ];
    let get = client::send(client, "GET", url, &common, None, timeout).await;
    let mut pf_headers = common.to_vec();
    pf_headers.push((
        "Access-Control-Request-Method".to_string(),
        method.to_string(),
    ));
    let preflight = client::send(client, "OPTIONS", url, &pf_headers, None, timeout).await;
    let answer = |r: Result<client::Sent, String>| match r {
        Ok((status, headers, cut)) => Answer {
            body_cut: cut,
            ..Answer::from_headers(status, &headers)
        },
        Err(e) => Answer::lost(e),
    };
    (answer(get), answer(preflight))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(headers: &[(&str, &str)]) -> Answer {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Answer::from_headers(200, &headers)
    }

    #[test]
    fn echo_is_byte_equal_and_one_header() {
        let a = answer(&[("Access-Control-Allow-Origin", "https://a.example")]);
        assert!(a.echoes("https://a.example"));
        assert!(!a.echoes("https://A.example"));
        let two = answer(&[
            ("access-control-allow-origin", "https://a.example"),
            ("access-control-allow-origin", "https://a.example"),
        ]);
        assert!(!two.echoes("https://a.example"));
        assert_eq!(
            two.summary(),
            "200 ACAO https://a.example + https://a.example"
        );
    }

    #[test]
    fn credentials_need_exactly_true_and_vary_lists_origin() {
        assert!(answer(&[("access-control-allow-credentials", "true")]).credentials());
        assert!(!answer(&[("access-control-allow-credentials", "True")]).credentials());
        assert!(answer(&[("vary", "Accept, origin")]).varies_on_origin());
        assert!(!answer(&[("vary", "Accept")]).varies_on_origin());
    }
}
