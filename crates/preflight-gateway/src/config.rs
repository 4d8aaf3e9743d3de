//! The gateway's configuration file (DESIGN.md, "Configuration file"), raw and
//! validated.
//!
//! [`Config::load`] reads the TOML file, imports `[[openapi]]` documents and
//! validates everything at once. Every refusal is a [`Problem`] that names the
//! file, the line and the key, with the fix, so that `preflight lint` can render
//! it and `preflight serve` can log it. A [`Config`] only exists valid.

use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http::uri::{Authority, Scheme};
use http::Uri;
use preflight_core::{CorsConfig, MethodSet, Policy, PolicyError, PolicyErrorKind};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml_edit::{ImDocument, Item};

use crate::openapi;

/// Defaults of the `[server]` table.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_BODY_LIMIT: u64 = 10 * 1024 * 1024;
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Raw types: what serde reads.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    server: RawServer,
    cors: Option<CorsConfig>,
    #[serde(default)]
    routes: Vec<RawRoute>,
    #[serde(default)]
    openapi: Vec<RawOpenApi>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<OneOrMany>,
    admin: Option<String>,
    tls: Option<RawTls>,
    upstream_timeout: Option<String>,
    connect_timeout: Option<String>,
    body_limit: Option<SizeValue>,
    grace_period: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SizeValue {
    Bytes(i64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: PathBuf,
    key: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    path: String,
    #[serde(default)]
    methods: Vec<String>,
    upstream: String,
    strip_prefix: Option<String>,
    #[serde(default)]
    cors: RouteCors,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOpenApi {
    file: PathBuf,
    upstream: String,
    prefix: Option<String>,
    strip_prefix: Option<String>,
    #[serde(default)]
    cors: RouteCors,
}

/// A route's `cors` key: absent or `true` (the default table), a table laid
/// over the default key by key, or `false` (no cross-origin access).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum RouteCors {
    #[default]
    Default,
    Override(CorsConfig),
    Disabled,
}

impl<'de> Deserialize<'de> for RouteCors {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RouteCors;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`false`, `true` or a table of [cors] keys")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RouteCors, E> {
                Ok(if v {
                    RouteCors::Default
                } else {
                    RouteCors::Disabled
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RouteCors, A::Error> {
                CorsConfig::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RouteCors::Override)
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------
// Problems.

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
    fn new(severity: Severity, key: impl Into<String>, message: impl Into<String>) -> Problem {
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

// ---------------------------------------------------------------------------
// Validated types.

/// The `[server]` table, validated.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: Vec<SocketAddr>,
    pub admin: Option<SocketAddr>,
    pub tls: Option<TlsFiles>,
    pub upstream_timeout: Duration,
    pub connect_timeout: Duration,
    pub body_limit: u64,
    pub grace_period: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 8080))],
            admin: None,
            tls: None,
            upstream_timeout: DEFAULT_UPSTREAM_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            body_limit: DEFAULT_BODY_LIMIT,
            grace_period: DEFAULT_GRACE_PERIOD,
        }
    }
}

/// Certificate chain and private key, PEM files (paths resolved against the
/// configuration file's directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Where a route sends its requests: `http://host:port` and an optional path
/// prefix.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub scheme: Scheme,
    pub authority: Authority,
    /// Path prefix without a trailing `/` (empty for none).
    pub base_path: String,
    /// As written.
    pub raw: String,
}

/// The CORS behaviour of one route, resolved.
#[derive(Debug, Clone)]
pub enum RouteCorsPolicy {
    /// The effective policy: the route's table over the default.
    Enabled {
        policy: Arc<Policy>,
        config: CorsConfig,
    },
    /// `cors = false`.
    Disabled,
}

/// Where a route came from, for the dashboard and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteSource {
    /// `[[routes]]` number N (0-based).
    Routes(usize),
    /// `[[openapi]]` number N, from this file.
    OpenApi(usize, PathBuf),
}

/// One validated route.
#[derive(Debug, Clone)]
pub struct Route {
    /// The matchit pattern (`/api/users/{id}`).
    pub path: String,
    pub methods: MethodSet,
    pub upstream: Upstream,
    pub strip_prefix: Option<String>,
    pub cors: RouteCorsPolicy,
    pub source: RouteSource,
}

/// A loaded, valid configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    /// The default policy (`[cors]`), used by routes without their own table
    /// and for the 404 answer. `None` when there is no `[cors]` table.
    pub default_cors: Option<(Arc<Policy>, CorsConfig)>,
    pub routes: Vec<Route>,
    /// The file it was read from, when it came from a file.
    pub path: Option<PathBuf>,
    /// The text it was read from, and the name used in messages.
    pub source: Arc<SourceFile>,
    /// Warnings found while loading.
    pub warnings: Vec<Problem>,
}

impl Config {
    /// Read and validate a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            problems: vec![Problem::error(
                "(file)",
                format!("cannot read {}: {e}", path.display()),
            )
            .help("check the path given with --config")],
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut config = Config::parse(&text, path, &base)?;
        config.path = Some(path.to_path_buf());
        Ok(config)
    }

    /// Validate configuration text. `name` is the file name used in messages;
    /// relative paths inside (`openapi.file`, `tls`) resolve against `base_dir`.
    pub fn parse(text: &str, name: &Path, base_dir: &Path) -> Result<Config, ConfigError> {
        let source = Arc::new(SourceFile {
            path: name.to_path_buf(),
            text: Arc::from(text),
        });
        let mut v = Validator {
            source: source.clone(),
            doc: None,
            problems: Vec::new(),
        };
        let doc = match ImDocument::parse(text.to_string()) {
            Ok(doc) => doc,
            Err(e) => {
                let p = Problem::error("(syntax)", e.message().to_string())
                    .help("fix the TOML syntax at this place")
                    .at(&source, e.span());
                return Err(ConfigError { problems: vec![p] });
            }
        };
        let raw: RawFile = match toml_edit::de::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let p = deserialize_problem(&e).at(&source, e.span());
                return Err(ConfigError { problems: vec![p] });
            }
        };
        v.doc = Some(doc);
        let config = v.validate(raw, base_dir);
        let Validator { problems, .. } = v;
        match config {
            Some(mut config) if !problems.iter().any(Problem::is_error) => {
                config.warnings = problems;
                Ok(config)
            }
            _ => Err(ConfigError { problems }),
        }
    }

    /// Warnings found while loading.
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }
}

fn deserialize_problem(e: &toml_edit::de::Error) -> Problem {
    let msg = e.message().trim().to_string();
    let help = if msg.starts_with("unknown field") {
        "remove the key or fix its spelling; the known keys are listed above"
    } else if msg.starts_with("missing field") {
        "add the key"
    } else {
        "give the key a value of the expected type"
    };
    Problem::error("(schema)", msg).help(help)
}

// ---------------------------------------------------------------------------
// Validation.

/// A step of a key path inside the document.
#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

struct Validator {
    source: Arc<SourceFile>,
    doc: Option<ImDocument<String>>,
    problems: Vec<Problem>,
}

fn dotted(path: &[Seg]) -> String {
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

impl Validator {
    /// The span of the deepest item of `path` that exists.
    fn span(&self, path: &[Seg]) -> Option<Range<usize>> {
        let doc = self.doc.as_ref()?;
        span_in(doc.as_item(), path)
    }

    fn push(&mut self, path: &[Seg], p: Problem) {
        let span = self.span(path);
        let mut p = p.at(&self.source, span);
        if p.key.is_empty() {
            p.key = dotted(path);
        }
        self.problems.push(p);
    }

    fn error(&mut self, path: &[Seg], message: impl Into<String>, help: impl Into<String>) {
        self.push(path, Problem::error("", message).help(help));
    }

    fn warn(&mut self, path: &[Seg], message: impl Into<String>, help: impl Into<String>) {
        self.push(
            path,
            Problem::new(Severity::Warning, "", message).help(help),
        );
    }

    fn validate(&mut self, raw: RawFile, base_dir: &Path) -> Option<Config> {
        let server = self.server(&raw.server, base_dir);
        let default_cors = match &raw.cors {
            Some(c) => match Policy::new(c) {
                Ok(p) => {
                    for w in p.warnings() {
                        self.warn(
                            &[Seg::Key("cors"), Seg::Key(w.key)],
                            w.message.clone(),
                            "lower max_age to 7200 or less",
                        );
                    }
                    Some((Arc::new(p), c.clone()))
                }
                Err(errors) => {
                    for e in errors {
                        self.policy_error(&[Seg::Key("cors")], &e, None);
                    }
                    self.max_age_warning(&[Seg::Key("cors")], c);
                    None
                }
            },
            None => None,
        };
        let default_failed = raw.cors.is_some() && default_cors.is_none();

        let mut routes = Vec::new();
        let mut router = matchit::Router::new();
        let mut route_paths: Vec<(String, Vec<Seg<'static>>)> = Vec::new();
        for (n, r) in raw.routes.iter().enumerate() {
            let here = [Seg::Key("routes"), Seg::Index(n)];
            let route = self.route(
                &here,
                RouteInput {
                    path: &r.path,
                    methods: &r.methods,
                    upstream: &r.upstream,
                    strip_prefix: r.strip_prefix.as_deref(),
                    cors: &r.cors,
                },
                raw.cors.as_ref(),
                default_cors.as_ref(),
                default_failed,
                RouteSource::Routes(n),
            );
            if r.path.starts_with('/') {
                self.insert(
                    &mut router,
                    &mut route_paths,
                    &r.path,
                    vec![Seg::Key("routes"), Seg::Index(n), Seg::Key("path")],
                );
            }
            if let Some(route) = route {
                routes.push(route);
            }
        }

        for (n, o) in raw.openapi.iter().enumerate() {
            let here = [Seg::Key("openapi"), Seg::Index(n)];
            let file = base_dir.join(&o.file);
            let imported = match openapi::import(&file) {
                Ok(imported) => imported,
                Err(p) => {
                    let key = dotted(&[Seg::Key("openapi"), Seg::Index(n), Seg::Key("file")]);
                    let mut p = p;
                    if p.source.is_none() {
                        let span =
                            self.span(&[Seg::Key("openapi"), Seg::Index(n), Seg::Key("file")]);
                        p = p.at(&self.source, span);
                    }
                    p.key = format!("{key} ({})", p.key);
                    self.problems.push(p);
                    continue;
                }
            };
            if imported.is_empty() {
                self.warn(
                    &[Seg::Key("openapi"), Seg::Index(n), Seg::Key("file")],
                    "the document has no paths with operations: no route imported",
                    "check that the file is an OpenAPI 3 document with `paths`",
                );
            }
            let prefix = o.prefix.clone().unwrap_or_default();
            if !prefix.is_empty() && (!prefix.starts_with('/') || prefix.ends_with('/')) {
                self.error(
                    &[Seg::Key("openapi"), Seg::Index(n), Seg::Key("prefix")],
                    format!("prefix {prefix:?} must start with `/` and not end with one"),
                    "write it like \"/api\"",
                );
                continue;
            }
            for op in imported {
                let path = format!("{prefix}{}", op.path);
                let route = self.route(
                    &here,
                    RouteInput {
                        path: &path,
                        methods: &op.methods,
                        upstream: &o.upstream,
                        strip_prefix: o.strip_prefix.as_deref(),
                        cors: &o.cors,
                    },
                    raw.cors.as_ref(),
                    default_cors.as_ref(),
                    default_failed,
                    RouteSource::OpenApi(n, file.clone()),
                );
                if path.starts_with('/') {
                    self.insert(
                        &mut router,
                        &mut route_paths,
                        &path,
                        vec![Seg::Key("openapi"), Seg::Index(n), Seg::Key("file")],
                    );
                }
                if let Some(route) = route {
                    routes.push(route);
                }
            }
        }

        if routes.is_empty() && !self.problems.iter().any(Problem::is_error) {
            self.warn(
                &[],
                "no route: every request will get 404",
                "add a [[routes]] table or an [[openapi]] import",
            );
        }
        if raw.cors.is_none()
            && routes
                .iter()
                .any(|r| matches!(r.cors, RouteCorsPolicy::Disabled))
        {
            // Nothing to say: routes without their own table are closed on purpose.
        }
        Some(Config {
            server: server?,
            default_cors,
            routes,
            path: None,
            source: self.source.clone(),
            warnings: Vec::new(),
        })
    }

    fn insert(
        &mut self,
        router: &mut matchit::Router<usize>,
        paths: &mut Vec<(String, Vec<Seg<'static>>)>,
        path: &str,
        at: Vec<Seg<'static>>,
    ) {
        match router.insert(path, paths.len()) {
            Ok(()) => paths.push((path.to_string(), at)),
            Err(matchit::InsertError::Conflict { with }) => {
                let other = paths
                    .iter()
                    .find(|(p, _)| *p == with)
                    .map(|(_, at)| format!(" (declared at {})", dotted(at)))
                    .unwrap_or_default();
                self.error(
                    &at,
                    format!("the path {path} overlaps the route {with}{other}: a request could match both"),
                    "merge the two routes, or make their paths distinct",
                );
            }
            Err(e) => self.error(
                &at,
                format!("the path {path} is not a valid route pattern: {e}"),
                "use `{name}` for one segment and `{*rest}` for the remainder (only at the end)",
            ),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn route(
        &mut self,
        here: &[Seg],
        input: RouteInput,
        default_raw: Option<&CorsConfig>,
        default_policy: Option<&(Arc<Policy>, CorsConfig)>,
        default_failed: bool,
        source: RouteSource,
    ) -> Option<Route> {
        let at = |k: &'static str| -> Vec<Seg> {
            let mut v = here.to_vec();
            v.push(Seg::Key(k));
            v
        };
        let mut ok = true;
        if !input.path.starts_with('/') {
            self.error(
                &at("path"),
                format!("path {:?} must start with `/`", input.path),
                "write it like \"/api/users/{id}\"",
            );
            ok = false;
        }
        let methods = if input.methods.is_empty() {
            self.error(
                &at("methods"),
                "the route has no methods: nothing could reach it",
                "list the upstream's methods, like methods = [\"GET\", \"POST\"]",
            );
            None
        } else {
            match MethodSet::parse(input.methods) {
                Ok(m) => Some(m),
                Err(e) => {
                    let mut p = at("methods");
                    p.push(Seg::Index(e.index));
                    self.error(&p, e.error.to_string(), "remove it or fix the method name");
                    None
                }
            }
        };
        let upstream = match parse_upstream(input.upstream) {
            Ok(u) => Some(u),
            Err((msg, help)) => {
                self.error(&at("upstream"), msg, help);
                None
            }
        };
        if let Some(prefix) = input.strip_prefix {
            if !prefix.starts_with('/') || !input.path.starts_with(prefix) {
                self.error(
                    &at("strip_prefix"),
                    format!(
                        "strip_prefix {prefix:?} is not a prefix of the path {}",
                        input.path
                    ),
                    "use the leading literal part of `path`, like \"/api\"",
                );
                ok = false;
            }
        }
        let cors = match input.cors {
            RouteCors::Disabled => Some(RouteCorsPolicy::Disabled),
            RouteCors::Default => match default_policy {
                Some((policy, config)) => Some(RouteCorsPolicy::Enabled {
                    policy: policy.clone(),
                    config: config.clone(),
                }),
                // The default is already reported.
                None if default_failed => None,
                // No `[cors]` table: routes without their own are closed.
                None => Some(RouteCorsPolicy::Disabled),
            },
            RouteCors::Override(table) => {
                let effective = match default_raw {
                    Some(base) => table.over(base),
                    None => table.clone(),
                };
                match Policy::new(&effective) {
                    Ok(policy) => {
                        for w in policy.warnings() {
                            let mut p = at("cors");
                            p.push(Seg::Key(w.key));
                            self.warn(&p, w.message.clone(), "lower max_age to 7200 or less");
                        }
                        Some(RouteCorsPolicy::Enabled {
                            policy: Arc::new(policy),
                            config: effective,
                        })
                    }
                    Err(errors) => {
                        self.max_age_warning(&at("cors"), table);
                        for e in errors {
                            let from_route = key_is_set(table, e.key);
                            if from_route || !default_failed {
                                self.policy_error(&at("cors"), &e, (!from_route).then_some(here));
                            }
                        }
                        None
                    }
                }
            }
        };
        if !ok {
            return None;
        }
        Some(Route {
            path: input.path.to_string(),
            methods: methods?,
            upstream: upstream?,
            strip_prefix: input.strip_prefix.map(str::to_string),
            cors: cors?,
            source,
        })
    }

    /// Report a policy error at the key it names: in `table` (a route's cors
    /// table or `[cors]`), or, when `inherited_by` is set, in `[cors]` as
    /// inherited by that route.
    fn policy_error(&mut self, table: &[Seg], e: &PolicyError, inherited_by: Option<&[Seg]>) {
        let mut path: Vec<Seg> = match inherited_by {
            Some(_) => vec![Seg::Key("cors")],
            None => table.to_vec(),
        };
        path.push(Seg::Key(e.key));
        if let Some(i) = e.index {
            path.push(Seg::Index(i));
        }
        let mut message = format!("{} is refused: {}", display_value(e), e.kind);
        if let Some(route) = inherited_by {
            message = format!("{message} (inherited from [cors] by {})", dotted(route));
        }
        let p = Problem::error(dotted(&path), message).help(policy_help(&e.kind));
        let span = self.span(&path);
        self.problems.push(p.at(&self.source, span));
    }

    /// The max_age warning, for a table whose policy failed for another
    /// reason (a valid policy reports it itself).
    fn max_age_warning(&mut self, table: &[Seg], c: &CorsConfig) {
        if let Some(secs) = c.max_age {
            if secs > preflight_core::policy::CHROMIUM_MAX_AGE_CAP
                && secs <= preflight_core::policy::MAX_AGE_LIMIT
            {
                let mut p = table.to_vec();
                p.push(Seg::Key("max_age"));
                self.warn(&p, "Chromium caps the preflight cache at 7200 s; a longer max_age only helps Firefox", "lower max_age to 7200 or less");
            }
        }
    }

    fn server(&mut self, raw: &RawServer, base_dir: &Path) -> Option<ServerConfig> {
        let mut s = ServerConfig::default();
        let mut ok = true;
        let path = |k: &'static str| [Seg::Key("server"), Seg::Key(k)];
        match &raw.listen {
            None => {}
            Some(OneOrMany::One(a)) => {
                match parse_addr(a) {
                    Ok(addr) => s.listen = vec![addr],
                    Err(m) => {
                        self.error(&path("listen"), m, "write an IP address and a port, like \"127.0.0.1:8080\" or \"[::]:8080\"");
                        ok = false;
                    }
                }
            }
            Some(OneOrMany::Many(list)) => {
                s.listen.clear();
                if list.is_empty() {
                    self.error(
                        &path("listen"),
                        "no listen address",
                        "list at least one, like [\"127.0.0.1:8080\"]",
                    );
                    ok = false;
                }
                for (i, a) in list.iter().enumerate() {
                    match parse_addr(a) {
                        Ok(addr) if s.listen.contains(&addr) => {
                            self.error(
                                &[Seg::Key("server"), Seg::Key("listen"), Seg::Index(i)],
                                format!("{addr} is listed twice"),
                                "remove the duplicate",
                            );
                            ok = false;
                        }
                        Ok(addr) => s.listen.push(addr),
                        Err(m) => {
                            self.error(
                                &[Seg::Key("server"), Seg::Key("listen"), Seg::Index(i)],
                                m,
                                "write an IP address and a port, like \"127.0.0.1:8080\"",
                            );
                            ok = false;
                        }
                    }
                }
            }
        }
        if let Some(a) = &raw.admin {
            match parse_addr(a) {
                Ok(addr) => s.admin = Some(addr),
                Err(m) => {
                    self.error(
                        &path("admin"),
                        m,
                        "write an IP address and a port, like \"127.0.0.1:9901\"",
                    );
                    ok = false;
                }
            }
        }
        if let Some(tls) = &raw.tls {
            s.tls = Some(TlsFiles {
                cert: base_dir.join(&tls.cert),
                key: base_dir.join(&tls.key),
            });
        }
        for (key, slot) in [
            ("upstream_timeout", &mut s.upstream_timeout),
            ("connect_timeout", &mut s.connect_timeout),
            ("grace_period", &mut s.grace_period),
        ] {
            let value = match key {
                "upstream_timeout" => &raw.upstream_timeout,
                "connect_timeout" => &raw.connect_timeout,
                _ => &raw.grace_period,
            };
            if let Some(text) = value {
                match parse_duration(text) {
                    Some(d) if !d.is_zero() || key == "grace_period" => *slot = d,
                    _ => {
                        self.problems.push(
                            Problem::error(
                                format!("server.{key}"),
                                format!("{text:?} is not a duration"),
                            )
                            .help("write a number and a unit: \"500ms\", \"30s\", \"2m\", \"1h\"")
                            .at(&self.source, None),
                        );
                        ok = false;
                    }
                }
            }
        }
        // Spans for the loop above: set after, as the loop borrows `s`.
        if let Some(doc) = &self.doc {
            for p in self.problems.iter_mut() {
                if let Some(key) = p.key.strip_prefix("server.") {
                    if p.span.is_none() {
                        p.span = span_in(doc.as_item(), &[Seg::Key("server"), Seg::Key(key)]);
                    }
                }
            }
        }
        match &raw.body_limit {
            None => {}
            Some(SizeValue::Bytes(n)) if *n > 0 => s.body_limit = *n as u64,
            Some(v) => {
                let parsed = match v {
                    SizeValue::Text(t) => parse_size(t),
                    SizeValue::Bytes(_) => None,
                };
                match parsed {
                    Some(n) if n > 0 => s.body_limit = n,
                    _ => {
                        self.error(&path("body_limit"), "not a size", "write a positive number of bytes or a size: \"10MiB\", \"512KiB\", \"1GB\"");
                        ok = false;
                    }
                }
            }
        }
        ok.then_some(s)
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

/// Where a dotted key (`routes[2].cors.allow_origins`) stands in configuration
/// text: its 1-based line and column, or those of the deepest part that exists.
pub fn locate(text: &str, key: &str) -> Option<(usize, usize)> {
    let doc = ImDocument::parse(text.to_string()).ok()?;
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
    let span = span_in(doc.as_item(), &segs)?;
    Some(line_col(text, span.start))
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

struct RouteInput<'a> {
    path: &'a str,
    methods: &'a [String],
    upstream: &'a str,
    strip_prefix: Option<&'a str>,
    cors: &'a RouteCors,
}

fn display_value(e: &PolicyError) -> String {
    match e.index {
        Some(_) => format!("{:?}", e.value),
        None => e.value.clone(),
    }
}

fn key_is_set(c: &CorsConfig, key: &str) -> bool {
    match key {
        "allow_origins" => c.allow_origins.is_some(),
        "allow_methods" => c.allow_methods.is_some(),
        "allow_headers" => c.allow_headers.is_some(),
        "expose_headers" => c.expose_headers.is_some(),
        "allow_credentials" => c.allow_credentials.is_some(),
        "max_age" => c.max_age.is_some(),
        "preflight_status" => c.preflight_status.is_some(),
        "on_disallowed_origin" => c.on_disallowed_origin.is_some(),
        "debug" => c.debug.is_some(),
        _ => false,
    }
}

/// The fix for each policy refusal, in a line.
fn policy_help(kind: &PolicyErrorKind) -> &'static str {
    match kind {
        PolicyErrorKind::MissingOrigins => "add allow_origins = [\"https://app.example.com\"]",
        PolicyErrorKind::WildcardWithCredentials => {
            "list the origins by name, or set allow_credentials = false"
        }
        PolicyErrorKind::NullOrigin => {
            "remove \"null\" (or set dangerously_allow_null_origin = true if you really mean it)"
        }
        PolicyErrorKind::PublicSuffixWildcard(_) => {
            "name your own domain, like \"https://*.app.example.com\""
        }
        PolicyErrorKind::InsecureOriginWithCredentials => "use the https:// origin",
        PolicyErrorKind::MalformedOrigin(_) => {
            "write a serialized origin: scheme://host[:port], no path, no default port"
        }
        PolicyErrorKind::Method(_) => "remove it or fix the method name",
        PolicyErrorKind::InvalidHeaderName(_) => "write a header name without spaces or separators",
        PolicyErrorKind::ForbiddenHeader(_) => "remove it: browsers set it themselves",
        PolicyErrorKind::WildcardExposeWithCredentials => {
            "list the response headers to expose by name"
        }
        PolicyErrorKind::ExposeSetCookie => "remove set-cookie from expose_headers",
        PolicyErrorKind::MaxAgeOutOfRange => {
            "use a value between -1 and 86400 (7200 is Chromium's cap)"
        }
        PolicyErrorKind::InvalidPreflightStatus => "use 204 (or 200 for old clients)",
        PolicyErrorKind::EmptyMethods => {
            "list the methods, or remove the key to allow the route's methods"
        }
    }
}

/// `127.0.0.1:8080`, `[::1]:8080`; `localhost:8080` too.
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        if let Ok(port) = port.parse::<u16>() {
            return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
        }
    }
    Err(format!("{text:?} is not a listen address (IP:port)"))
}

/// `500ms`, `30s`, `2m`, `1h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    if !secs.is_finite() || !(0.0..=86_400.0 * 365.0).contains(&secs) {
        return None;
    }
    Some(Duration::from_secs_f64(secs))
}

/// `10MiB`, `512KiB`, `1GB`, `100kB`, `2048`, `2048B`.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "kib" => 1 << 10,
        "mb" | "m" => 1_000_000,
        "mib" => 1 << 20,
        "gb" | "g" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// An upstream URL: `http://` or `https://` (certificates verified against
/// the Web PKI roots), host, port, an optional path prefix; no
/// userinfo, query or fragment.
pub fn parse_upstream(text: &str) -> Result<Upstream, (String, &'static str)> {
    let help = "write it like \"http://127.0.0.1:3000\"";
    let uri: Uri = text
        .parse()
        .map_err(|e| (format!("{text:?} is not a URL: {e}"), help))?;
    let scheme = match uri.scheme() {
        Some(s) if *s == Scheme::HTTP => s.clone(),
        Some(s) if *s == Scheme::HTTPS => return Err((
            format!("{text:?}: https upstreams are not supported yet"),
            "reach the upstream over http:// on a private network, or terminate TLS in front of it",
        )),
        Some(s) => return Err((format!("{text:?}: the scheme {s} is not http"), help)),
        None => return Err((format!("{text:?} has no scheme"), help)),
    };
    let authority = uri
        .authority()
        .cloned()
        .ok_or_else(|| (format!("{text:?} has no host"), help))?;
    if authority.as_str().contains('@') {
        return Err((
            format!("{text:?} has userinfo: credentials in an upstream URL would leak in logs"),
            "remove `user:password@`",
        ));
    }
    if authority.host().is_empty() {
        return Err((format!("{text:?} has no host"), help));
    }
    if uri.query().is_some() || text.contains('#') {
        return Err((format!("{text:?} has a query or fragment"), help));
    }
    let base_path = uri.path().trim_end_matches('/').to_string();
    Ok(Upstream {
        scheme,
        authority,
        base_path,
        raw: text.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("preflight.toml"), Path::new("."))
    }

    fn first_error(text: &str) -> Problem {
        match parse(text) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.problems.into_iter().find(Problem::is_error).unwrap(),
        }
    }

    const GOOD: &str = r#"
[server]
listen = "127.0.0.1:8080"
body_limit = "1MiB"

[cors]
allow_origins = ["https://app.example.com"]
allow_credentials = true

[[routes]]
path = "/api/users/{id}"
methods = ["GET", "PUT"]
upstream = "http://127.0.0.1:3000"

[[routes]]
path = "/public/{*rest}"
methods = ["GET"]
upstream = "http://127.0.0.1:3001/v1/"
cors = { allow_origins = ["*"], allow_credentials = false }

[[routes]]
path = "/internal/{*rest}"
methods = ["GET"]
upstream = "http://127.0.0.1:3002"
cors = false
"#;

    #[test]
    fn loads_a_good_file() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.routes.len(), 3);
        assert_eq!(c.server.body_limit, 1 << 20);
        assert_eq!(c.routes[1].upstream.base_path, "/v1");
        assert!(matches!(c.routes[2].cors, RouteCorsPolicy::Disabled));
        match &c.routes[1].cors {
            RouteCorsPolicy::Enabled { policy, .. } => assert!(!policy.allows_credentials()),
            _ => panic!(),
        }
    }

    #[test]
    fn policy_errors_point_at_the_line() {
        let text = "[cors]\nallow_origins = [\n  \"https://ok.example.com\",\n  \"*\",\n]\nallow_credentials = true\n";
        let p = first_error(text);
        assert_eq!(p.key, "cors.allow_origins[1]");
        assert_eq!(p.line_col().unwrap().0, 4);
        assert!(p.to_string().starts_with("preflight.toml:4:"), "{p}");
    }

    #[test]
    fn route_override_errors_point_into_the_route() {
        let text = "[cors]\nallow_origins = [\"https://a.example.com\"]\n\n[[routes]]\npath = \"/x\"\nmethods = [\"GET\"]\nupstream = \"http://127.0.0.1:1\"\ncors = { allow_origins = [\"https://*.github.io\"] }\n";
        let p = first_error(text);
        assert_eq!(p.key, "routes[0].cors.allow_origins[0]");
        assert_eq!(p.line_col().unwrap().0, 8);
    }

    #[test]
    fn unknown_keys_overlaps_and_bad_upstreams_are_refused() {
        let p = first_error("[server]\nlisten = \"127.0.0.1:1\"\nlistne = 3\n");
        assert!(p.message.contains("unknown field"), "{p}");
        assert_eq!(p.line_col().unwrap().0, 3);

        let overlap = "[[routes]]\npath = \"/a/{id}\"\nmethods = [\"GET\"]\nupstream = \"http://127.0.0.1:1\"\ncors = false\n[[routes]]\npath = \"/a/{name}\"\nmethods = [\"GET\"]\nupstream = \"http://127.0.0.1:1\"\ncors = false\n";
        let p = first_error(overlap);
        assert_eq!(p.key, "routes[1].path");
        assert_eq!(p.line_col().unwrap().0, 7);

        for bad in [
            "ftp://x",
            "http://u:p@x:1",
            "127.0.0.1:3000",
            "http://x/?a=1",
        ] {
            let text = format!("[[routes]]\npath = \"/a\"\nmethods = [\"GET\"]\nupstream = \"{bad}\"\ncors = false\n");
            assert_eq!(first_error(&text).key, "routes[0].upstream", "{bad}");
        }
        let text = "[[routes]]\npath = \"/a\"\nmethods = []\nupstream = \"http://x:1\"\n";
        assert_eq!(first_error(text).key, "routes[0].methods");
        let text = "[server]\nupstream_timeout = \"soon\"\n";
        let p = first_error(text);
        assert_eq!(p.key, "server.upstream_timeout");
        assert_eq!(p.line_col().unwrap().0, 2);
    }

    #[test]
    fn warns_on_long_max_age() {
        let c = parse("[cors]\nallow_origins = [\"https://a.example.com\"]\nmax_age = 9000\n[[routes]]\npath = \"/a\"\nmethods = [\"GET\"]\nupstream = \"http://x:1\"\n").unwrap();
        assert_eq!(c.warnings().len(), 1);
        assert_eq!(c.warnings()[0].line_col().unwrap().0, 3);
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("10MiB"), Some(10 << 20));
        assert_eq!(parse_size("5kB"), Some(5000));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("-1s"), None);
    }
}
