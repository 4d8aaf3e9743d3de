//! The validation of a raw configuration: every refusal and warning found at
//! once, each a [`Problem`] pointing at its key.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use preflight_core::{CorsConfig, MethodSet, Policy, PolicyError, PolicyWarning};

use super::diagnostics::{dotted, ConfigError, Document, Problem, Seg, Severity, SourceFile};
use super::fixes::{policy_help, warning_help, MAX_AGE_HELP};
use super::model::{
    AccessLogTarget, Config, Route, RouteCorsPolicy, RouteSource, ServerConfig, TlsFiles,
};
use super::schema::{OneOrMany, RawFile, RawServer, RouteCors, SizeValue};
use super::values::{parse_addr, parse_duration, parse_size, parse_upstream};
use crate::openapi;

/// Validate the raw tables read from `document`: the configuration (with
/// its warnings), or every problem found, errors and warnings.
pub(crate) fn validate(
    source: Arc<SourceFile>,
    document: Arc<Document>,
    raw: RawFile,
    base_dir: &Path,
) -> Result<Config, ConfigError> {
    let mut v = Validator {
        source,
        document,
        problems: Vec::new(),
    };
    let config = v.validate(raw, base_dir);
    let problems = v.problems;
    match config {
        Some(mut config) if !problems.iter().any(Problem::is_error) => {
            config.warnings = problems;
            Ok(config)
        }
        _ => Err(ConfigError { problems }),
    }
}

/// The problems found so far, and where to point them.
pub(super) struct Validator {
    source: Arc<SourceFile>,
    document: Arc<Document>,
    problems: Vec<Problem>,
}

impl Validator {
    /// The span of the deepest item of `path` that exists.
    fn span(&self, path: &[Seg]) -> Option<Range<usize>> {
        self.document.span(path)
    }

    fn push(&mut self, path: &[Seg], p: Problem) {
        let span = self.span(path);
        let mut p = p.at(&self.source, span);
        if p.key.is_empty() {
            p.key = dotted(path);
        }
        self.problems.push(p);
    }

    pub(super) fn error(
        &mut self,
        path: &[Seg],
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(path, Problem::error("", message).help(help));
    }

    pub(super) fn warn(
        &mut self,
        path: &[Seg],
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
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
                        self.policy_warning(&[Seg::Key("cors")], w);
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
                    allow_encoded_slashes: r.allow_encoded_slashes,
                    websocket: r.websocket,
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
                        allow_encoded_slashes: o.allow_encoded_slashes,
                        websocket: o.websocket,
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
        Some(Config {
            server: server?,
            default_cors,
            routes,
            path: None,
            source: self.source.clone(),
            warnings: Vec::new(),
            document: self.document.clone(),
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
                            self.policy_warning(&at("cors"), w);
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
        if input.websocket {
            if let Some(m) = &methods {
                if !m.contains(&http::Method::GET) {
                    self.error(
                        &at("websocket"),
                        "websocket = true on a route without GET: a WebSocket handshake is a GET",
                        "add \"GET\" to methods, or remove websocket",
                    );
                    ok = false;
                }
            }
        }
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
            allow_encoded_slashes: input.allow_encoded_slashes,
            websocket: input.websocket,
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

    /// Report a policy warning at the key (and list item) it names.
    fn policy_warning(&mut self, table: &[Seg], w: &PolicyWarning) {
        let mut path = table.to_vec();
        path.push(Seg::Key(w.key));
        if let Some(i) = w.index {
            path.push(Seg::Index(i));
        }
        self.warn(&path, w.message.clone(), warning_help(&w.kind));
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
                self.warn(&p, "Chromium caps the preflight cache at 7200 s; a longer max_age only helps Firefox", MAX_AGE_HELP);
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
        if let Some(text) = &raw.access_log {
            match text.trim() {
                "stderr" => s.access_log = AccessLogTarget::Stderr,
                "off" => s.access_log = AccessLogTarget::Off,
                "" => {
                    self.error(
                        &path("access_log"),
                        "no access log target",
                        "write \"stderr\", \"off\" or a file's path, like \"/var/log/preflight/access.log\"",
                    );
                    ok = false;
                }
                file => {
                    let file = base_dir.join(file);
                    match file.parent() {
                        Some(dir) if dir.as_os_str().is_empty() || dir.is_dir() => {
                            s.access_log = AccessLogTarget::File(file);
                        }
                        _ => {
                            self.error(
                                &path("access_log"),
                                format!("the directory of {} does not exist", file.display()),
                                "create the directory, or write \"stderr\" or \"off\"",
                            );
                            ok = false;
                        }
                    }
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
        for p in self.problems.iter_mut() {
            if let Some(key) = p.key.strip_prefix("server.") {
                if p.span.is_none() {
                    p.span = self.document.span(&[Seg::Key("server"), Seg::Key(key)]);
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
        ok &= self.server_edge(raw, &mut s);
        ok &= self.edge_limits(raw, &mut s);
        ok.then_some(s)
    }
}

struct RouteInput<'a> {
    path: &'a str,
    methods: &'a [String],
    upstream: &'a str,
    strip_prefix: Option<&'a str>,
    cors: &'a RouteCors,
    allow_encoded_slashes: bool,
    websocket: bool,
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
