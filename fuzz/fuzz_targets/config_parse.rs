//! Configuration loading from arbitrary text: `Config::parse` answers a
//! configuration or a list of problems, never a panic, and every problem it
//! reports renders.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use preflight_gateway::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `[[openapi]] file` names a document that parse reads: a fuzzer that
    // writes `/dev/zero` there tests the disk, not the parser.
    if text.contains("openapi") {
        return;
    }
    match Config::parse(
        text,
        Path::new("fuzz.toml"),
        Path::new("/nonexistent-fuzz-base"),
    ) {
        Ok(config) => {
            let _ = format!("{config:?}");
        }
        Err(e) => {
            assert!(!e.problems.is_empty(), "an error with no problem");
            let _ = e.to_string();
        }
    }
});
