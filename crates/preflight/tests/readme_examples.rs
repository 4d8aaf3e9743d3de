//! The README's `preflight explain` examples are what the binary prints: each
//! ```text block that starts with `$ preflight explain ...` is run from the
//! repository's root (explain needs no network), and its lines must be the
//! output's, in order; a line `...` stands for any lines, and `$ echo $?`
//! gives the exit status on the next line.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// One example: the arguments after `preflight`, the lines it must print,
/// and the exit status it gives.
#[derive(Debug)]
struct Example {
    args: Vec<String>,
    lines: Vec<String>,
    status: Option<i32>,
}

/// Split a command line as a POSIX shell does for the examples: words
/// separated by spaces, double quotes grouping.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    assert!(!quoted, "an unclosed quote in {line:?}");
    if any {
        out.push(word);
    }
    out
}

fn examples(markdown: &str) -> Vec<Example> {
    let mut found = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```text" {
            continue;
        }
        let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let Some(command) = block
            .first()
            .and_then(|l| l.strip_prefix("$ preflight explain "))
        else {
            continue;
        };
        let mut args = vec!["explain".to_string()];
        args.extend(words(command));
        let mut expected = Vec::new();
        let mut status = None;
        let mut rest = block[1..].iter();
        while let Some(l) = rest.next() {
            if *l == "$ echo $?" {
                status = rest.next().and_then(|s| s.trim().parse().ok());
                break;
            }
            expected.push(l.to_string());
        }
        found.push(Example {
            args,
            lines: expected,
            status,
        });
    }
    found
}

/// Whether `want` (with `...` for any lines) is `got`, line by line.
fn matches(want: &[String], got: &[&str]) -> Result<(), String> {
    let mut at = 0;
    let mut skipping = false;
    for w in want {
        if w == "..." {
            skipping = true;
            continue;
        }
        match got[at..].iter().position(|g| g == w) {
            Some(0) => at += 1,
            Some(n) if skipping => at += n + 1,
            _ => {
                return Err(format!(
                    "expected line {w:?} at output line {}, got {:?}",
                    at + 1,
                    got.get(at)
                ))
            }
        }
        skipping = false;
    }
    if !skipping && at != got.len() {
        return Err(format!(
            "output goes on after the example: {:?}",
            &got[at..]
        ));
    }
    Ok(())
}

#[test]
fn the_readme_explain_examples_are_what_the_binary_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let found = examples(&readme);
    assert!(
        found.len() >= 2,
        "the README's explain examples were not found: {found:?}"
    );
    for ex in &found {
        let out = Command::new(env!("CARGO_BIN_EXE_preflight"))
            .args(&ex.args)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .output()
            .expect("preflight runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let got: Vec<&str> = text.lines().collect();
        if let Err(why) = matches(&ex.lines, &got) {
            panic!(
                "README example `preflight {}`: {why}\nthe binary printed:\n{text}",
                ex.args.join(" ")
            );
        }
        if let Some(status) = ex.status {
            assert_eq!(out.status.code(), Some(status), "{ex:?}");
        }
    }
}

#[test]
fn the_example_matcher_can_fail() {
    let want: Vec<String> = ["a", "...", "c"].iter().map(|s| s.to_string()).collect();
    assert!(matches(&want, &["a", "b", "b", "c"]).is_ok());
    assert!(matches(&want, &["a", "c"]).is_ok());
    assert!(matches(&want, &["a", "b"]).is_err());
    assert!(matches(&want, &["x", "c"]).is_err());
    assert!(matches(&want, &["a", "c", "d"]).is_err());
    assert_eq!(
        words(r#"-H "Save-Data: on" /x"#),
        ["-H", "Save-Data: on", "/x"]
    );
}
