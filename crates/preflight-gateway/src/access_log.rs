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
        // One line per request: the writers below never write a line break
        // (`field` escapes control characters, the others write digits,
        // addresses and the time).
        debug_assert!(!p.buf[start..].contains('\n'));
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
    field_key(buf, key);
    if value.is_empty() {
        buf.push('-');
        return;
    }
    let plain = value.bytes().all(|b| PLAIN[usize::from(b)]);
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
/// The bytes of a value written as it is, unquoted: visible ASCII but `"`,
/// `\` and `=`.
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_graphic() && c != b'"' && c != b'\\' && c != b'=';
        b += 1;
    }
    t
};

/// `key=` and what `value` displays: for values that display without a
/// line break (this module's own writers only).
fn field_display(buf: &mut String, key: &str, value: impl std::fmt::Display) {
    field_key(buf, key);
    let _ = write!(buf, "{value}");
}

/// `now` as RFC 3339 UTC with milliseconds: `2026-12-01T11:55:02.123Z`.
pub(crate) fn timestamp(buf: &mut String, now: SystemTime) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    // The date and time of this second made once a second per thread: a
    // line adds only its milliseconds.
    SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs || cached.1.is_empty() {
            cached.1.clear();
            date_time(&mut cached.1, secs);
            cached.0 = secs;
        }
        buf.push_str(&cached.1);
    });
    let ms = since.subsec_millis();
    push_digits(buf, u64::from(ms), 3);
    buf.push('Z');
}

thread_local! {
    /// (second, `YYYY-MM-DDTHH:MM:SS.`) of the last line this thread wrote.
    static SECOND: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((0, String::new())) };
}

/// `YYYY-MM-DDTHH:MM:SS.` of `secs` since the epoch (RFC 3339, UTC).
fn date_time(buf: &mut String, secs: u64) {
    let (days, rem) = (secs / 86_400, secs % 86_400);
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
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
    );
}

/// `n` in decimal, with leading zeros to at least `width` digits.
fn push_digits(buf: &mut String, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    while n > 0 || digits.len() - at < width.max(1) {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    for &d in &digits[at..] {
        buf.push(char::from(d));
    }
}

/// `key=n`.
pub(crate) fn field_number(buf: &mut String, key: &str, n: u64) {
    field_key(buf, key);
    push_digits(buf, n, 1);
}

/// `key=M.UUU`: microseconds as milliseconds to the microsecond.
pub(crate) fn field_ms(buf: &mut String, key: &str, micros: u64) {
    field_key(buf, key);
    push_digits(buf, micros / 1000, 1);
    buf.push('.');
    push_digits(buf, micros % 1000, 3);
}

/// `key=ADDRESS:PORT`, as `SocketAddr` displays it.
pub(crate) fn field_addr(buf: &mut String, key: &str, addr: std::net::SocketAddr) {
    match addr {
        std::net::SocketAddr::V4(v4) => {
            field_key(buf, key);
            let [a, b, c, d] = v4.ip().octets();
            for (i, octet) in [a, b, c, d].into_iter().enumerate() {
                if i > 0 {
                    buf.push('.');
                }
                push_digits(buf, u64::from(octet), 1);
            }
            buf.push(':');
            push_digits(buf, u64::from(v4.port()), 1);
        }
        v6 => field_display(buf, key, v6),
    }
}

fn field_key(buf: &mut String, key: &str) {
    if !matches!(buf.as_bytes().last(), None | Some(b'\n')) {
        buf.push(' ');
    }
    buf.push_str(key);
    buf.push('=');
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

    #[test]
    fn a_timestamp_in_the_same_second_keeps_its_own_milliseconds() {
        let mut b = String::new();
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_250);
        timestamp(&mut b, t);
        timestamp(&mut b, t + Duration::from_millis(7));
        timestamp(&mut b, t + Duration::from_millis(750));
        assert_eq!(
            b,
            "2024-02-29T23:59:59.250Z2024-02-29T23:59:59.257Z2024-03-01T00:00:00.000Z"
        );
    }

    #[test]
    fn numbers_and_addresses_are_written_as_display_writes_them() {
        for (addr, n, us) in [
            ("127.0.0.1:5000", 0u64, 0u64),
            ("10.200.3.4:65535", 204, 1_234),
            ("[::1]:8080", 65_535, 12_345_678),
            ("0.0.0.0:0", u64::MAX, 999),
        ] {
            let addr: std::net::SocketAddr = addr.parse().expect("an address");
            let mut b = String::new();
            field_addr(&mut b, "remote", addr);
            field_number(&mut b, "status", n);
            field_ms(&mut b, "ms", us);
            let mut display = String::new();
            field_display(&mut display, "remote", addr);
            field_display(&mut display, "status", n);
            field_display(
                &mut display,
                "ms",
                format_args!("{}.{:03}", us / 1000, us % 1000),
            );
            assert_eq!(b, display);
        }
    }
}
