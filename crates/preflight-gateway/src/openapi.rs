//! `[[openapi]]`: routes and methods read from an OpenAPI 3 document.
//!
//! Only `paths` and the operation keys under each path are read. OpenAPI's path
//! templates (`/users/{id}`) are matchit's syntax already.

use std::path::Path;
use std::sync::Arc;

use crate::config::diagnostics::{Problem, SourceFile};

/// One path of the document with its operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Operation {
    pub(crate) path: String,
    /// Upper-case method names, in the order the document lists them.
    pub(crate) methods: Vec<String>,
}

/// The operation keys of a Path Item Object (OpenAPI 3.0/3.1). `trace` is
/// left out: browsers never send it and the policy refuses it.
const OPERATIONS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

/// Read a YAML or JSON OpenAPI document and list its paths and methods.
pub(crate) fn import(file: &Path) -> Result<Vec<Operation>, Problem> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Problem::error(
            "file",
            format!("cannot read the OpenAPI document {}: {e}", file.display()),
        )
        .help("check the path; it is relative to the configuration file")
    })?;
    parse(&text, file)
}

/// Parse a document's text (YAML is a superset of JSON, so one parser reads
/// both).
pub(crate) fn parse(text: &str, file: &Path) -> Result<Vec<Operation>, Problem> {
    let source = Arc::new(SourceFile {
        path: file.to_path_buf(),
        text: Arc::from(text),
    });
    let doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let span = e.location().map(|l| l.index()..l.index() + 1);
        Problem::error("document", format!("not a YAML or JSON document: {e}"))
            .help("fix the syntax of the OpenAPI file")
            .at(&source, span)
    })?;
    let version = doc.get("openapi").and_then(|v| v.as_str()).unwrap_or("");
    if !version.starts_with('3') {
        let hint = if doc.get("swagger").is_some() {
            "Swagger 2.0 is not read: convert it to OpenAPI 3"
        } else {
            "the document needs `openapi: 3.x`"
        };
        return Err(Problem::error("openapi", "not an OpenAPI 3 document")
            .help(hint)
            .at(&source, None));
    }
    let Some(paths) = doc.get("paths").and_then(|p| p.as_mapping()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (path, item) in paths {
        let Some(path) = path.as_str() else { continue };
        let Some(item) = item.as_mapping() else {
            continue;
        };
        let methods: Vec<String> = item
            .keys()
            .filter_map(|k| k.as_str())
            .filter(|k| OPERATIONS.contains(k))
            .map(str::to_ascii_uppercase)
            .collect();
        if methods.is_empty() {
            continue;
        }
        out.push(Operation {
            path: path.to_string(),
            methods,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_yaml_and_json() {
        let yaml = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /users:\n    get: {}\n    post: {}\n  /users/{id}:\n    parameters: []\n    get: {}\n    delete: {}\n    trace: {}\n";
        let ops = parse(yaml, Path::new("a.yaml")).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[1].path, "/users/{id}");
        assert_eq!(ops[1].methods, ["GET", "DELETE"]);
        let json = r#"{"openapi": "3.1.0", "paths": {"/a": {"put": {}}}}"#;
        assert_eq!(
            parse(json, Path::new("a.json")).unwrap()[0].methods,
            ["PUT"]
        );
        assert!(parse("swagger: '2.0'\n", Path::new("s.yaml")).is_err());
        assert!(parse("openapi: [", Path::new("s.yaml")).is_err());
    }
}
