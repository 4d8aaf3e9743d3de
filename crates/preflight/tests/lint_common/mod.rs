//! What the `preflight lint` tests share: the route appended to `[cors]`
//! fixtures, running the binary, and finding where a diagnostic must point.

use std::path::Path;
use std::process::{Command, Output};

use preflight_test_kit::cli;

/// A route that loads, appended to rows about `[cors]`.
pub const ROUTE: &str = r#"
[[routes]]
path = "/api/users/{id}"
methods = ["GET", "PUT"]
upstream = "http://127.0.0.1:3000"
"#;

pub fn lint(config: &Path) -> Output {
    cli::run(
        Command::new(env!("CARGO_BIN_EXE_preflight"))
            .arg("lint")
            .arg("--config")
            .arg(config),
    )
}

/// 1-based line and column where `needle` first occurs; it must occur once.
pub fn line_col_of(text: &str, needle: &str) -> (usize, usize) {
    assert_eq!(
        text.matches(needle).count(),
        1,
        "{needle:?} should occur once in the fixture:\n{text}"
    );
    let offset = text.find(needle).unwrap_or_default();
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = offset - before.rfind('\n').map_or(0, |p| p + 1) + 1;
    (line, col)
}

/// A `[cors]` table with `body`, and a route that loads.
pub fn cors(body: &str) -> String {
    format!("[cors]\n{body}\n{ROUTE}")
}
