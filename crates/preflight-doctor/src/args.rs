//! What the page asks fetch() for: the arguments `check` and `explain` share,
//! and how they become a [`BrowserRequest`].

use clap::{Args, ValueEnum};
use preflight_core::browser::{BrowserRequest, CredentialsMode, Profile};
use preflight_core::Origin;
use url::Url;

/// What the page asks fetch() for: the arguments `check` and `explain` share.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// The page's origin, e.g. https://app.example.com (or `null` for a sandboxed page)
    #[arg(long)]
    pub origin: String,
    /// The request method, as the page passes it to fetch() (normalized as fetch does).
    #[arg(short = 'X', long = "request", default_value = "GET")]
    pub method: String,
    /// A request header the page sets, as 'Name: value'. Repeatable.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// fetch()'s credentials mode.
    #[arg(long, value_enum, default_value_t = Credentials::SameOrigin)]
    pub credentials: Credentials,
    /// Whose rules: chromium, firefox or webkit (each engine as shipped), spec
    /// (the Fetch standard as written), or all: chromium, firefox and webkit
    /// side by side, one verdict line each and, where they differ, which
    /// engine blocks and why. `all` leaves spec out: it is no browser anyone
    /// runs; ask for it by name.
    #[arg(long, value_enum, default_value_t = ProfileArg::Chromium)]
    pub profile: ProfileArg,
}

/// fetch()'s credentials modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Credentials {
    Omit,
    SameOrigin,
    Include,
}

impl From<Credentials> for CredentialsMode {
    fn from(c: Credentials) -> Self {
        match c {
            Credentials::Omit => CredentialsMode::Omit,
            Credentials::SameOrigin => CredentialsMode::SameOrigin,
            Credentials::Include => CredentialsMode::Include,
        }
    }
}

/// The simulator's profiles (docs/browser-model.md#browser-profiles), or
/// `all`: the three engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    Chromium,
    Firefox,
    #[value(name = "webkit")]
    WebKit,
    Spec,
    /// chromium, firefox and webkit side by side.
    All,
}

impl ProfileArg {
    /// The one profile asked for; `None` for `all`.
    pub fn one(self) -> Option<Profile> {
        match self {
            ProfileArg::Chromium => Some(Profile::Chromium),
            ProfileArg::Firefox => Some(Profile::Firefox),
            ProfileArg::WebKit => Some(Profile::WebKit),
            ProfileArg::Spec => Some(Profile::Spec),
            ProfileArg::All => None,
        }
    }

    /// The profiles to run: the one asked for, or the three engines.
    pub fn profiles(self) -> Vec<Profile> {
        match self.one() {
            Some(p) => vec![p],
            None => Profile::ENGINES.to_vec(),
        }
    }
}

/// `-H 'Name: value'` arguments as (name, value) pairs.
pub(crate) fn parse_header_args(headers: &[String]) -> Result<Vec<(String, String)>, String> {
    headers
        .iter()
        .map(|h| {
            let (name, value) = h
                .split_once(':')
                .ok_or_else(|| format!("-H {h:?}: write a header as 'Name: value'"))?;
            let name = name.trim();
            if name.is_empty() || http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(format!("-H {h:?}: {name:?} is not a header name"));
            }
            Ok((name.to_string(), value.trim().to_string()))
        })
        .collect()
}

/// The name a value has on the command line (`same-origin`).
pub(crate) fn value_name(v: impl ValueEnum) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// Build the browser request from the shared arguments of `check` and `explain`.
pub(crate) fn browser_request(page: &PageArgs, url: Url) -> Result<BrowserRequest, String> {
    let origin = Origin::of_page(&page.origin)
        .map_err(|e| format!("--origin {:?} is not an origin: {e}", page.origin))?;
    let mut req = BrowserRequest::new(origin, url)
        .method(page.method.as_str())
        .credentials(page.credentials.into());
    for (name, value) in parse_header_args(&page.headers)? {
        req = req.header(name, value);
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_name_colon_value() {
        let parsed = parse_header_args(&["X-Api-Key:  k1 ".to_string()]);
        assert_eq!(parsed, Ok(vec![("X-Api-Key".into(), "k1".into())]));
        assert!(parse_header_args(&["no colon".to_string()]).is_err());
        assert!(parse_header_args(&["bad name: v".to_string()]).is_err());
        assert!(parse_header_args(&[": v".to_string()]).is_err());
    }

    #[test]
    fn value_names_are_the_command_line_spelling() {
        assert_eq!(value_name(Credentials::SameOrigin), "same-origin");
        assert_eq!(value_name(ProfileArg::Spec), "spec");
        assert_eq!(value_name(ProfileArg::WebKit), "webkit");
        assert_eq!(value_name(ProfileArg::All), "all");
    }

    #[test]
    fn all_is_the_three_engines() {
        assert_eq!(ProfileArg::All.one(), None);
        assert_eq!(
            ProfileArg::All.profiles(),
            [Profile::Chromium, Profile::Firefox, Profile::WebKit]
        );
        assert_eq!(ProfileArg::WebKit.profiles(), [Profile::WebKit]);
        assert_eq!(ProfileArg::Spec.one(), Some(Profile::Spec));
    }
}
