//! The server's parser for `Access-Control-Request-Headers`.
//!
//! Tolerant of what browsers and proxies do to the list (docs/browser-model.md#preflight-request says browsers send
//! `a,b,c` lower case with no space, but proxies fold, re-case and split lines):
//! any case, spaces and tabs around items, empty items, several header lines.
//! Strict about cost: one pass over the bytes, at most
//! [`MAX_REQUEST_HEADERS_BYTES`] bytes in all and [`MAX_REQUEST_HEADER_NAMES`]
//! names, checked before any scanning so that a hostile megabyte is refused in
//! constant time. It never allocates.

use http::HeaderValue;
use thiserror::Error;

use crate::fetch::{is_tab_or_space, is_tchar, trim_by};

/// The most bytes of `Access-Control-Request-Headers`, all lines together.
pub const MAX_REQUEST_HEADERS_BYTES: usize = 4096;
/// The most header names one preflight may ask for.
pub const MAX_REQUEST_HEADER_NAMES: usize = 64;

/// Why a requested header list is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum HeaderListError {
    #[error("Access-Control-Request-Headers is {0} bytes long; the limit is {MAX_REQUEST_HEADERS_BYTES}")]
    TooLong(usize),
    #[error("Access-Control-Request-Headers names more than {MAX_REQUEST_HEADER_NAMES} headers")]
    TooMany,
    #[error("Access-Control-Request-Headers holds something that is not a header name")]
    InvalidName,
}

/// The header names a preflight asks for, borrowed from the request.
#[derive(Debug, Clone)]
pub struct RequestedHeaders<'a> {
    names: [&'a [u8]; MAX_REQUEST_HEADER_NAMES],
    len: usize,
    /// The request carried exactly one line already in the form a browser
    /// writes (lower case, `,` with no space, no empty item): the answer can
    /// echo that line as it is.
    canonical_line: Option<&'a HeaderValue>,
}

impl<'a> RequestedHeaders<'a> {
    /// Parse every `Access-Control-Request-Headers` line of a request.
    pub fn parse<I>(lines: I) -> Result<RequestedHeaders<'a>, HeaderListError>
    where
        I: IntoIterator<Item = &'a HeaderValue> + Clone,
    {
        let mut out = RequestedHeaders {
            names: [&[]; MAX_REQUEST_HEADER_NAMES],
            len: 0,
            canonical_line: None,
        };
        let scanned = scan(lines, |name| {
            out.names[out.len] = name;
            out.len += 1;
        })?;
        out.canonical_line = scanned.canonical_line;
        Ok(out)
    }

    /// The names as sent (any case).
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.names[..self.len].iter().copied()
    }

    /// How many names.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no name was asked for.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The request's line when it can be echoed unchanged.
    pub fn canonical_line(&self) -> Option<&'a HeaderValue> {
        self.canonical_line
    }

    /// The names lower-cased and joined with `,`, as a browser writes them.
    pub fn to_lowercase_list(&self) -> String {
        let mut s = String::with_capacity(self.names[..self.len].iter().map(|n| n.len() + 1).sum());
        for (i, name) in self.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            for &b in name {
                s.push(b.to_ascii_lowercase() as char);
            }
        }
        s
    }
}

/// What [`scan`] saw besides the names.
pub(crate) struct Scanned<'a> {
    /// How many names.
    pub(crate) len: usize,
    /// See [`RequestedHeaders::canonical_line`].
    pub(crate) canonical_line: Option<&'a HeaderValue>,
}

/// The one parser: check the bounds, then hand each name to `each`, in order.
/// [`RequestedHeaders::parse`] collects them; [`crate::Policy::decide`] checks
/// them as they come, so that its hot path holds no list of names.
pub(crate) fn scan<'a, I>(
    lines: I,
    mut each: impl FnMut(&'a [u8]),
) -> Result<Scanned<'a>, HeaderListError>
where
    I: IntoIterator<Item = &'a HeaderValue> + Clone,
{
    // Bound first: the sum of lengths costs one step a line.
    let mut total = 0usize;
    let mut count = 0usize;
    for line in lines.clone().into_iter() {
        total = total.saturating_add(line.len());
        count += 1;
        if total > MAX_REQUEST_HEADERS_BYTES {
            return Err(HeaderListError::TooLong(total));
        }
    }
    let mut len = 0usize;
    let mut canonical = count == 1;
    let mut only_line = None;
    for line in lines {
        only_line = Some(line);
        for item in line.as_bytes().split(|&b| b == b',') {
            let name = trim_by(item, is_tab_or_space);
            if name.len() != item.len() {
                canonical = false;
            }
            if name.is_empty() {
                canonical = false;
                continue;
            }
            // One pass for both questions: is it a token, is it lower case.
            let (mut token, mut upper) = (true, false);
            for &b in name {
                token &= is_tchar(b);
                upper |= b.is_ascii_uppercase();
            }
            if !token {
                return Err(HeaderListError::InvalidName);
            }
            if upper {
                canonical = false;
            }
            if len == MAX_REQUEST_HEADER_NAMES {
                return Err(HeaderListError::TooMany);
            }
            len += 1;
            each(name);
        }
    }
    Ok(Scanned {
        len,
        canonical_line: if canonical && len > 0 {
            only_line
        } else {
            None
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_lines(lines: &[&'static str]) -> Result<Vec<String>, HeaderListError> {
        let values: Vec<HeaderValue> = lines.iter().map(|l| HeaderValue::from_static(l)).collect();
        let parsed = RequestedHeaders::parse(values.iter())?;
        Ok(parsed
            .iter()
            .map(|n| String::from_utf8(n.to_vec()).unwrap())
            .collect())
    }

    #[test]
    fn tolerant_of_case_space_empty_items_and_lines() {
        assert_eq!(
            parse_lines(&["Content-Type , X-A,,", "\tx-b"]).unwrap(),
            ["Content-Type", "X-A", "x-b"]
        );
        assert_eq!(parse_lines(&[""]).unwrap(), Vec::<String>::new());
        assert_eq!(parse_lines(&[" , ,"]).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn canonical_line_is_recognised() {
        let v = HeaderValue::from_static("content-type,x-a");
        let p = RequestedHeaders::parse(std::iter::once(&v)).unwrap();
        assert!(p.canonical_line().is_some());
        for not in ["Content-Type,x-a", "content-type, x-a", "content-type,,x-a"] {
            let v = HeaderValue::from_static(not);
            let p = RequestedHeaders::parse(std::iter::once(&v)).unwrap();
            assert!(p.canonical_line().is_none(), "{not}");
            assert_eq!(p.to_lowercase_list(), "content-type,x-a");
        }
    }

    #[test]
    fn bounds_and_bad_names() {
        let long = "a,".repeat(MAX_REQUEST_HEADERS_BYTES);
        let v = HeaderValue::from_str(&long).unwrap();
        assert_eq!(
            RequestedHeaders::parse(std::iter::once(&v)).unwrap_err(),
            HeaderListError::TooLong(long.len())
        );
        let many = (0..=MAX_REQUEST_HEADER_NAMES)
            .map(|i| format!("x-{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let v = HeaderValue::from_str(&many).unwrap();
        assert_eq!(
            RequestedHeaders::parse(std::iter::once(&v)).unwrap_err(),
            HeaderListError::TooMany
        );
        assert_eq!(
            parse_lines(&["x-a, bad name"]).unwrap_err(),
            HeaderListError::InvalidName
        );
        assert_eq!(
            parse_lines(&["x-a;"]).unwrap_err(),
            HeaderListError::InvalidName
        );
    }
}
