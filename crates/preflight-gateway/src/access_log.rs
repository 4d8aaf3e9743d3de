//! The access log written to a file (`[server] access_log = PATH`,
//! docs/configuration.md): each request's line is formatted into one shared,
//! reused buffer, and a thread of its own writes the buffer out in batches
//! (when it holds 32 KiB, or every 100 ms), so that a request never waits on
//! a write(2) and no line costs an allocation of its own.
//!
//! Bounded (RELIABILITY.md, bounded memory): while the writer is behind by
//! more than [`MAX_PENDING`] bytes (a stuck disk), lines are dropped and
//! counted, never queued without end.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::AccessLogTarget;

/// What is written at once, at most every [`FLUSH_EVERY`].
const BATCH: usize = 32 * 1024;
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Pending bytes past which lines are dropped.
pub(crate) const MAX_PENDING: usize = 4 * 1024 * 1024;

/// Where the gateway's access log goes (`[server] access_log`). Cheap to
/// clone.
#[derive(Clone, Debug)]
pub(crate) enum AccessLog {
    Stderr,
    Off,
    File(FileLog),
}

impl AccessLog {
    /// The configured target; a file that cannot be opened is said so, and
    /// the log goes to stderr instead.
    pub(crate) fn new(target: &AccessLogTarget) -> AccessLog {
        match target {
            AccessLogTarget::Stderr => AccessLog::Stderr,
            AccessLogTarget::Off => AccessLog::Off,
            AccessLogTarget::File(path) => match FileLog::open(path) {
                Ok(f) => AccessLog::File(f),
                Err(e) => {
                    tracing::error!(file = %path.display(), error = %e, "access log: the file cannot be opened; writing to stderr instead");
                    AccessLog::Stderr
                }
            },
        }
    }

    /// Write out what is pending (a file log), waiting at most `limit`.
    pub(crate) fn flush(&self, limit: Duration) {
        if let AccessLog::File(f) = self {
            f.flush(limit);
            let dropped = f.dropped();
            if dropped > 0 {
                tracing::warn!(
                    dropped,
                    "access log: lines dropped while the writer was behind"
                );
            }
        }
    }
}

/// A file the access log goes to. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct FileLog {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Signalled by the writer after each write.
    written: Condvar,
    dropped: AtomicU64,
}

#[derive(Debug, Default)]
struct Pending {
    buf: String,
    /// Bytes handed to the writer and not yet written.
    in_flight: usize,
}

impl FileLog {
    /// Open (create, append) the file and start its writer thread.
    pub(crate) fn open(path: &Path) -> io::Result<FileLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending {
                buf: String::with_capacity(BATCH * 2),
                ..Pending::default()
            }),
            wake: Condvar::new(),
            written: Condvar::new(),
            dropped: AtomicU64::new(0),
        });
        let s = shared.clone();
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || writer(&s, file))?;
        Ok(FileLog { shared })
    }

    /// Append one line, written by `line` (without its newline).
    pub(crate) fn line(&self, line: impl FnOnce(&mut String)) {
        let Ok(mut p) = self.shared.pending.lock() else {
            return;
        };
        if p.buf.len() + p.in_flight > MAX_PENDING {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let start = p.buf.len();
        line(&mut p.buf);
        // One line per request, whatever a value held.
        if p.buf[start..].contains('\n') {
            let clean = p.buf[start..].replace('\n', " ");
            p.buf.truncate(start);
            p.buf.push_str(&clean);
        }
        p.buf.push('\n');
        if p.buf.len() >= BATCH {
            self.shared.wake.notify_one();
        }
    }

    /// Lines dropped because the writer was behind.
    pub(crate) fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Write out what is pending and wait (at most `limit`) until it is.
    pub(crate) fn flush(&self, limit: Duration) {
        let deadline = std::time::Instant::now() + limit;
        let Ok(mut p) = self.shared.pending.lock() else {
            return;
        };
        self.shared.wake.notify_one();
        while !p.buf.is_empty() || p.in_flight > 0 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.shared.written.wait_timeout(p, left) {
                Ok((guard, _)) => p = guard,
                Err(_) => return,
            }
            self.shared.wake.notify_one();
        }
    }
}

/// The writer thread: swap the buffer out, write it, until the log is gone.
fn writer(shared: &Arc<Shared>, mut file: File) {
    let mut out = String::with_capacity(BATCH * 2);
    loop {
        {
            let Ok(mut p) = shared.pending.lock() else {
                return;
            };
            if p.buf.len() < BATCH {
                match shared.wake.wait_timeout(p, FLUSH_EVERY) {
                    Ok((guard, _)) => p = guard,
                    Err(_) => return,
                }
            }
            // Only this thread and the log's owners hold `shared`: alone
            // here means every `FileLog` is gone.
            if Arc::strong_count(shared) == 1 && p.buf.is_empty() {
                return;
            }
            std::mem::swap(&mut p.buf, &mut out);
            p.in_flight = out.len();
        }
        if !out.is_empty() {
            if let Err(e) = file.write_all(out.as_bytes()) {
                tracing::warn!(error = %e, "access log: a write failed; lines lost");
            }
            // A batch that grew past its usual size is not kept.
            if out.capacity() > BATCH * 4 {
                out = String::with_capacity(BATCH * 2);
            }
            out.clear();
        }
        if let Ok(mut p) = shared.pending.lock() {
            p.in_flight = 0;
        }
        shared.written.notify_all();
    }
}

/// Write `key=value`, the value in quotes (with `\"` and `\\`) when it holds
/// a space, a quote, a backslash, `=` or a control character, and empty
/// values as `-`.
pub(crate) fn field(buf: &mut String, key: &str, value: &str) {
    if !buf.is_empty() && !buf.ends_with('\n') {
        buf.push(' ');
    }
    buf.push_str(key);
    buf.push('=');
    if value.is_empty() {
        buf.push('-');
        return;
    }
    let plain = value
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\' && b != b'=');
    if plain {
        buf.push_str(value);
        return;
    }
    buf.push('"');
    for c in value.chars() {
        match c {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(buf, "\\u{{{:x}}}", c as u32);
            }
            c => buf.push(c),
        }
    }
    buf.push('"');
}

/// Write `key=value` for a value that needs no quotes (a number, an
/// address).
pub(crate) fn field_display(buf: &mut String, key: &str, value: impl std::fmt::Display) {
    if !buf.is_empty() && !buf.ends_with('\n') {
        buf.push(' ');
    }
    buf.push_str(key);
    buf.push('=');
    let _ = write!(buf, "{value}");
}

/// `now` as RFC 3339 UTC with milliseconds: `2026-12-01T11:55:02.123Z`.
pub(crate) fn timestamp(buf: &mut String, now: SystemTime) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (the proleptic Gregorian
    // calendar; H. Hinnant's days_from_civil, inverted).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let _ = write!(
        buf,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        let mut b = String::new();
        field(&mut b, "a", "GET");
        field(&mut b, "b", "");
        field(&mut b, "c", "two words");
        field(&mut b, "d", "q\"b\\s=\u{1}");
        assert_eq!(b, r#"a=GET b=- c="two words" d="q\"b\\s=\u{1}""#);
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let mut b = String::new();
        timestamp(&mut b, UNIX_EPOCH);
        assert_eq!(b, "1970-01-01T00:00:00.000Z");
        b.clear();
        // 2024-02-29T23:59:59.250Z, a leap day.
        timestamp(
            &mut b,
            UNIX_EPOCH + Duration::from_millis(1_709_251_199_250),
        );
        assert_eq!(b, "2024-02-29T23:59:59.250Z");
        b.clear();
        timestamp(&mut b, UNIX_EPOCH + Duration::from_secs(951_868_800));
        assert_eq!(b, "2000-03-01T00:00:00.000Z");
    }
}
