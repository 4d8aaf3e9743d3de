//! A browser's clocks under `libfaketime`: sped up ([`fast_clock`]) or jumped
//! by an offset read from a file ([`jump_clock`], [`set_clock_offset`]), so
//! that a max-age cap of minutes or hours takes effect in seconds; for
//! Firefox, which does not run under `libfaketime`, a clock jump of the
//! suite's own ([`firefox_jump_clock`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Where Debian's `libfaketime` puts the library that runs a process's clocks
/// fast.
const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// The environment that makes a browser's clocks (wall and monotonic) run
/// `speed` times as fast, through `libfaketime`; `None` when it is not
/// installed. This is how the suite sees a 10-minute or 2-hour max-age cap
/// take effect in seconds.
pub fn fast_clock(speed: u32) -> Option<Vec<(String, String)>> {
    Path::new(LIBFAKETIME).exists().then(|| {
        vec![
            ("LD_PRELOAD".to_string(), LIBFAKETIME.to_string()),
            ("FAKETIME".to_string(), format!("+0 x{speed}")),
            ("FAKETIME_DONT_FAKE_MONOTONIC".to_string(), "0".to_string()),
        ]
    })
}

/// How often (seconds) a browser under [`jump_clock`] reads its offset file
/// again: after [`set_clock_offset`], wait longer than this.
pub const JUMP_CLOCK_REREAD: u64 = 1;

/// The environment that sets a browser's clocks `offset` seconds ahead, where
/// `offset` is read from `file` (written by [`set_clock_offset`]) and read
/// again every [`JUMP_CLOCK_REREAD`] seconds, through `libfaketime`; `None`
/// when it is not installed. The clocks run at their normal speed, so a
/// browser that does not start with fast clocks starts here, and a 2-hour
/// cap is crossed by one jump. `monotonic`: whether `CLOCK_MONOTONIC` jumps
/// too, or only the wall clock.
pub fn jump_clock(file: &Path, monotonic: bool) -> Option<Vec<(String, String)>> {
    if !Path::new(LIBFAKETIME).exists() {
        return None;
    }
    set_clock_offset(file, 0).ok()?;
    Some(vec![
        ("LD_PRELOAD".to_string(), LIBFAKETIME.to_string()),
        (
            "FAKETIME_TIMESTAMP_FILE".to_string(),
            file.display().to_string(),
        ),
        (
            "FAKETIME_CACHE_DURATION".to_string(),
            JUMP_CLOCK_REREAD.to_string(),
        ),
        (
            "FAKETIME_DONT_FAKE_MONOTONIC".to_string(),
            if monotonic { "0" } else { "1" }.to_string(),
        ),
    ])
}

/// Set the offset that a browser under [`jump_clock`] reads from `file`
/// (written whole and renamed into place, so the browser never reads half).
pub fn set_clock_offset(file: &Path, offset: u64) -> Result<(), String> {
    let part = file.with_extension("part");
    std::fs::write(&part, format!("+{offset}\n"))
        .and_then(|()| std::fs::rename(&part, file))
        .map_err(|e| format!("{}: {e}", file.display()))
}

/// The library [`firefox_jump_clock`] preloads (C, built here with `cc`).
const SHIM_SOURCE: &str = include_str!("clock_shim.c");

/// How long building the shim may take.
const SHIM_BUILD_TIMEOUT: Duration = Duration::from_secs(60);

/// [`jump_clock`] for Firefox, without `libfaketime`: the environment that
/// sets Firefox's clocks (wall and monotonic) `offset` seconds ahead, where
/// `offset` is read from `file` (written by [`set_clock_offset`]) at most
/// every [`JUMP_CLOCK_REREAD`] seconds, through a small preloaded library of
/// the suite's own (`src/clock_shim.c`, built with `cc`); an error when it
/// cannot be built.
///
/// Firefox ESR 153 does not run under `libfaketime`. Its allocator, linked
/// into the `firefox` binary, reads the clock inside `malloc`. At start,
/// `libfaketime`'s `clock_gettime`, not yet set up, calls `dlsym`, whose
/// error path allocates: the first allocation waits for the allocator lock it
/// holds. With that avoided (the real clock until `libfaketime` is set up),
/// Firefox opens its BiDi endpoint and then stops answering: `libfaketime`
/// reads its timestamp file with `fgets` while holding its own lock, `fgets`
/// allocates, the allocator reads the clock, and `libfaketime` waits for its
/// own lock (both seen in gdb). The library moves the clocks without a lock
/// or an allocation, and moves back the absolute times of the waits
/// (`pthread_cond_timedwait`, `clock_nanosleep`, ...) so that they last as
/// long as asked. Only Firefox's parent process, which holds its preflight
/// cache, moves its clocks: its content processes, whose sandbox does not let
/// them read `file` (with the variable left to them the page stopped running
/// script), keep the real
/// ones. `cc` is the C compiler cargo already links with.
pub fn firefox_jump_clock(file: &Path) -> Result<Vec<(String, String)>, String> {
    let shim = clock_shim()?;
    set_clock_offset(file, 0)?;
    Ok(vec![
        ("LD_PRELOAD".to_string(), shim.display().to_string()),
        (
            "PREFLIGHT_CLOCK_OFFSET_FILE".to_string(),
            file.display().to_string(),
        ),
    ])
}

/// The shim built once per process (and kept, named after its source, in the
/// temporary directory for later runs).
fn clock_shim() -> Result<PathBuf, String> {
    static SHIM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    SHIM.get_or_init(build_clock_shim).clone()
}

fn build_clock_shim() -> Result<PathBuf, String> {
    // FNV-1a of the source: a changed source is built afresh.
    let hash = SHIM_SOURCE.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let dir = std::env::temp_dir();
    let lib = dir.join(format!("preflight-clock-shim-{hash:016x}.so"));
    if lib.exists() {
        return Ok(lib);
    }
    let pid = std::process::id();
    let source = dir.join(format!("preflight-clock-shim-{hash:016x}-{pid}.c"));
    let part = dir.join(format!("preflight-clock-shim-{hash:016x}-{pid}.so.part"));
    std::fs::write(&source, SHIM_SOURCE).map_err(|e| format!("{}: {e}", source.display()))?;
    let built = run_bounded(
        Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(&part)
            .arg(&source)
            .arg("-ldl"),
        SHIM_BUILD_TIMEOUT,
    );
    let _ = std::fs::remove_file(&source);
    built.map_err(|e| format!("cannot build the clock shim for Firefox with cc: {e}"))?;
    // Renamed into place whole: another test process may be building it too.
    std::fs::rename(&part, &lib).map_err(|e| format!("{}: {e}", lib.display()))?;
    Ok(lib)
}

/// Run `cmd` to its end, killed after `timeout`.
fn run_bounded(cmd: &mut Command, timeout: Duration) -> Result<(), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => {
                let mut err = String::new();
                if let Some(stderr) = child.stderr.take() {
                    use std::io::Read;
                    let _ = stderr.take(4096).read_to_string(&mut err);
                }
                return Err(format!("{status}: {}", err.trim()));
            }
            None if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("did not finish in {} s", timeout.as_secs()));
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}
