//! What a refused configuration reports: [`Problem`]s that point at a file,
//! a line and a key, and the parsed TOML document they point into (parsed
//! once per load, kept for the spans).

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use toml_edit::{ImDocument, Item};

/// How bad a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A file that a problem points into.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: Arc<str>,
}

/// One refusal or warning, pointing at a file, a line and a key.
#[derive(Debug, Clone)]
pub struct Problem {
    pub severity: Severity,
    /// The dotted key (`routes[2].cors.allow_origins[0]`).
    pub key: String,
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// The file and byte range the problem is about, when known.
    pub source: Option<Arc<SourceFile>>,
    pub span: Option<Range<usize>>,
}

impl Problem {
    pub(crate) fn new(
        severity: Severity,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            severity,
            key: key.into(),
            message: message.into(),
            help: None,
            source: None,
            span: None,
        }
    }
    pub(crate) fn error(key: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem::new(Severity::Error, key, message)
    }
    pub(crate) fn help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }
    pub(crate) fn at(mut self, source: &Arc<SourceFile>, span: Option<Range<usize>>) -> Problem {
        self.source = Some(source.clone());
        self.span = span;
        self
    }

    /// 1-based line and column of the span's start.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        let (src, span) = (self.source.as_ref()?, self.span.as_ref()?);
        Some(line_col(&src.text, span.start))
    }

    /// True for errors (a file with one is refused).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(src) = &self.source {
            write!(f, "{}", src.path.display())?;
            if let Some((line, col)) = self.line_col() {
                write!(f, ":{line}:{col}")?;
            }
            f.write_str(": ")?;
        }
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}: {}", self.key, self.message)?;
        if let Some(help) = &self.help {
            write!(f, " (fix: {help})")?;
        }
        Ok(())
    }
}

/// A refused configuration: every problem found, errors and warnings.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.problems.iter().filter(|p| p.is_error()).count();
        write!(f, "configuration refused ({errors} error(s))")?;
        for p in self.problems.iter().filter(|p| p.is_error()) {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    (line, col)
}

/// A step of a key path inside the document.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// The dotted form of a key path (`routes[2].cors.allow_origins`).
pub(crate) fn dotted(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// A dotted key (`routes[2].cors.allow_origins`) as a key path.
fn parse_key(key: &str) -> Option<Vec<Seg<'_>>> {
    let mut segs = Vec::new();
    for part in key.split('.') {
        let (name, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            segs.push(Seg::Key(name));
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            segs.push(Seg::Index(idx.trim_end_matches(']').parse().ok()?));
        }
    }
    Some(segs)
}

/// The configuration text, parsed once: where each key stands in it.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    doc: ImDocument<String>,
}

impl Document {
    /// Parse configuration text; a syntax error is a [`Problem`] at its place.
    pub(crate) fn parse(source: &Arc<SourceFile>) -> Result<Document, Problem> {
        ImDocument::parse(source.text.to_string())
            .map(|doc| Document { doc })
            .map_err(|e| {
                Problem::error("(syntax)", e.message().to_string())
                    .help("fix the TOML syntax at this place")
                    .at(source, e.span())
            })
    }

    /// The document itself, for serde.
    pub(crate) fn toml(&self) -> &ImDocument<String> {
        &self.doc
    }

    /// The span of the deepest item of `path` that exists.
    pub(crate) fn span(&self, path: &[Seg]) -> Option<Range<usize>> {
        span_in(self.doc.as_item(), path)
    }

    /// Where a dotted key (`routes[2].cors.allow_origins`) stands: its 1-based
    /// line and column, or those of the deepest part that exists.
    pub(crate) fn locate(&self, key: &str) -> Option<(usize, usize)> {
        let span = self.span(&parse_key(key)?)?;
        Some(line_col(self.doc.raw(), span.start))
    }

    /// True when the file writes the dotted key itself.
    pub(crate) fn contains(&self, key: &str) -> bool {
        let Some(path) = parse_key(key) else {
            return false;
        };
        let mut node = Node::Item(self.doc.as_item());
        for seg in &path {
            let next = match seg {
                Seg::Key(k) => node.key(k).map(|(n, _)| n),
                Seg::Index(i) => node.index(*i),
            };
            match next {
                Some(n) => node = n,
                None => return false,
            }
        }
        true
    }
}

/// A node of the parsed document: the three shapes `toml_edit` hands out.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Table(&'a toml_edit::Table),
    Value(&'a toml_edit::Value),
}

impl<'a> Node<'a> {
    fn span(self) -> Option<Range<usize>> {
        match self {
            Node::Item(i) => i.span(),
            Node::Table(t) => t.span(),
            Node::Value(v) => v.span(),
        }
    }
    fn key(self, k: &str) -> Option<(Node<'a>, Option<Range<usize>>)> {
        match self {
            Node::Item(Item::Table(t)) | Node::Table(t) => {
                let (key, item) = t.get_key_value(k)?;
                Some((Node::Item(item), key.span()))
            }
            Node::Item(Item::Value(toml_edit::Value::InlineTable(t)))
            | Node::Value(toml_edit::Value::InlineTable(t)) => {
                let (key, item) = t.get_key_value(k)?;
                Some((Node::Item(item), key.span()))
            }
            _ => None,
        }
    }
    fn index(self, i: usize) -> Option<Node<'a>> {
        match self {
            Node::Item(Item::ArrayOfTables(a)) => a.get(i).map(Node::Table),
            Node::Item(Item::Value(toml_edit::Value::Array(a)))
            | Node::Value(toml_edit::Value::Array(a)) => a.get(i).map(Node::Value),
            _ => None,
        }
    }
}

/// The span of the deepest node of `path` that exists: the value itself, or
/// its key when the value has none.
fn span_in(root: &Item, path: &[Seg]) -> Option<Range<usize>> {
    let mut node = Node::Item(root);
    let mut best = None;
    for seg in path {
        let (next, key_span) = match seg {
            Seg::Key(k) => match node.key(k) {
                Some(found) => found,
                None => break,
            },
            Seg::Index(i) => match node.index(*i) {
                Some(n) => (n, None),
                None => break,
            },
        };
        if let Some(s) = next.span().or(key_span) {
            best = Some(s);
        }
        node = next;
    }
    best
}
