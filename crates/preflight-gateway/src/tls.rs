//! The TLS listener's certificate, reloaded when its files change
//! (docs/deploying.md, "TLS"): a certificate manager (cert-manager, a
//! Kubernetes secret's `..data` swap, certbot) replaces the files, and new
//! handshakes use the new pair while open connections keep theirs. A pair
//! that does not load (half written, key and certificate that do not match)
//! is logged and the running one stays.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::config::TlsFiles;

/// How often a handshake looks at the files (two `stat`s) at most.
pub(crate) const CHECK_EVERY: Duration = Duration::from_secs(1);

/// What tells a new version of a file: its modification time and length,
/// through symlinks.
type Stamp = [(Option<SystemTime>, u64); 2];

fn stamp(files: &TlsFiles) -> Stamp {
    let one = |p: &Path| match std::fs::metadata(p) {
        Ok(m) => (m.modified().ok(), m.len()),
        Err(_) => (None, 0),
    };
    [one(&files.cert), one(&files.key)]
}

/// Read and check a certificate chain and its key.
pub(crate) fn load(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let open = |p: &Path| {
        File::open(p)
            .map(BufReader::new)
            .map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let certs = rustls_pemfile::certs(&mut open(&files.cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a PEM certificate chain: {e}", files.cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate found", files.cert.display()));
    }
    let key = rustls_pemfile::private_key(&mut open(&files.key)?)
        .map_err(|e| format!("{}: not a PEM private key: {e}", files.key.display()))?
        .ok_or_else(|| format!("{}: no private key found", files.key.display()))?;
    CertifiedKey::from_der(certs, key, provider)
        .map_err(|e| format!("the certificate and key do not fit: {e}"))
}

struct Current {
    key: Arc<CertifiedKey>,
    stamp: Stamp,
    checked: Instant,
}

/// The certificate resolver of the TLS listener.
pub(crate) struct Rotating {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: Mutex<Current>,
}

impl std::fmt::Debug for Rotating {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rotating")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl Rotating {
    /// The pair the files hold now; an error when they do not load.
    pub(crate) fn new(files: &TlsFiles, provider: Arc<CryptoProvider>) -> Result<Rotating, String> {
        let stamp = stamp(files);
        let key = load(files, &provider)?;
        Ok(Rotating {
            files: files.clone(),
            provider,
            current: Mutex::new(Current {
                key: Arc::new(key),
                stamp,
                checked: Instant::now(),
            }),
        })
    }

    /// The pair for a new handshake: the files are looked at again when the
    /// last look is [`CHECK_EVERY`] old, and read again when they changed.
    fn pair(&self) -> Arc<CertifiedKey> {
        let mut current = match self.current.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        if current.checked.elapsed() >= CHECK_EVERY {
            current.checked = Instant::now();
            let now = stamp(&self.files);
            if now != current.stamp {
                match load(&self.files, &self.provider) {
                    Ok(key) => {
                        current.key = Arc::new(key);
                        current.stamp = now;
                        tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                    }
                    // Kept: the next look tries again (a pair half written
                    // now may be whole in a second).
                    Err(e) => {
                        tracing::warn!("TLS certificate not reloaded, the running one stays: {e}")
                    }
                }
            }
        }
        current.key.clone()
    }
}

impl ResolvesServerCert for Rotating {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.pair())
    }
}
