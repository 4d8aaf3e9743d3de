//! The gateway's configuration file (see `docs/configuration.md`), raw and
//! validated.
//!
//! [`Config::load`] reads the TOML file, imports `[[openapi]]` documents and
//! validates everything at once. Every refusal is a [`Problem`] that names the
//! file, the line and the key, with the fix, so that `preflight lint` can render
//! it and `preflight serve` can log it. A [`Config`] only exists valid.
//!
//! The pieces: `schema` is what serde reads, `values` parses the values
//! written as text, `validation` turns the raw tables into the `model`,
//! `diagnostics` holds the problems and the parsed document they point into,
//! and `fixes` the fix for each policy refusal.

use std::path::Path;
use std::sync::Arc;

pub(crate) mod diagnostics;
mod fixes;
mod model;
mod schema;
mod server_edge;
mod validation;
mod values;

pub use diagnostics::{ConfigError, Problem, Severity, SourceFile};
pub use model::{
    AccessLogTarget, Cidr, Config, Route, RouteCorsPolicy, RouteSource, ServerConfig, TlsFiles,
    Upstream,
};

use diagnostics::Document;
use schema::RawFile;

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
        let document = Document::parse(&source).map_err(|p| ConfigError { problems: vec![p] })?;
        let raw: RawFile = match toml_edit::de::from_document(document.toml().clone()) {
            Ok(raw) => raw,
            Err(e) => {
                let p = deserialize_problem(&e).at(&source, e.span());
                return Err(ConfigError { problems: vec![p] });
            }
        };
        validation::validate(source, Arc::new(document), raw, base_dir)
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
    fn the_document_is_kept_for_locate() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.locate("routes[1].cors.allow_origins"), Some((19, 26)));
        assert!(c.sets("routes[1].cors.allow_credentials"));
        assert!(!c.sets("routes[0].cors"));
        assert!(!c.sets("routes[2].cors.allow_origins"));
    }
}
