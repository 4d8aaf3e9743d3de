//! `preflight serve`: the gateway, as the configuration file says, until
//! SIGTERM or SIGINT; reloads on SIGHUP and when the file changes.

use std::path::PathBuf;
use std::process::ExitCode;

use preflight_gateway::{Config, Gateway};

/// How access logs and messages are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Arguments of `preflight serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The configuration file.
    #[arg(long, short = 'c', default_value = "./preflight.toml")]
    pub config: PathBuf,
    /// Log format: one line of text, or one JSON object, per event.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Install the log subscriber (`RUST_LOG` overrides `default`). Quietly does
/// nothing when one is already installed.
pub fn init_logging(format: LogFormat, default: &str) -> LogGuard {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Lines go to stderr from a thread of their own, so that a request never
    // waits on a write(2): measured under load, a synchronous writer cut the
    // gateway's preflight rate in half (BENCHMARKS.md).
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    LogGuard(guard)
}

/// Keeps the log writer's thread alive; dropping it flushes what is queued.
pub struct LogGuard(#[allow(dead_code)] tracing_appender::non_blocking::WorkerGuard);

/// Wait for SIGTERM or SIGINT.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Run `preflight serve`.
pub async fn run(args: ServeArgs) -> ExitCode {
    let _log = init_logging(args.log_format, "info");
    let config = match Config::load(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprint!("{}", crate::lint::render(&e.problems));
            eprintln!(
                "error: {} refused; `preflight lint --config {}` shows the same",
                args.config.display(),
                args.config.display()
            );
            return ExitCode::from(1);
        }
    };
    for w in config.warnings() {
        tracing::warn!("{w}");
    }
    let routes = config.routes.len();
    let gateway = Gateway::new(config);
    let access_log = gateway.clone();
    // The SIGHUP handler goes in before the listeners open: a HUP sent once
    // the gateway answers must reload it, never kill it (SIGHUP's default).
    let reloader = preflight_gateway::reload::spawn(gateway.clone());
    let running = match preflight_gateway::start(gateway).await {
        Ok(r) => r,
        Err(e) => {
            if let Some(r) = reloader {
                r.abort();
            }
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Handle::current().runtime_flavor() {
        tokio::runtime::RuntimeFlavor::CurrentThread => "current_thread",
        _ => "multi_thread",
    };
    for addr in running.local_addrs() {
        tracing::info!(%addr, routes, runtime, "gateway listening");
    }
    if let Some(addr) = running.admin_addr() {
        tracing::info!("dashboard on http://{addr}/ (metrics at /metrics)");
    }
    stop_signal().await;
    tracing::info!("stop signal received");
    if let Some(r) = reloader {
        r.abort();
    }
    // A second stop signal ends the shutdown at once, as the end of the
    // grace period does (docs/behaviour.md, "Reload and graceful shutdown").
    let force = running.force_trigger();
    let shutdown = running.shutdown();
    tokio::pin!(shutdown);
    tokio::select! {
        _ = &mut shutdown => {}
        _ = stop_signal() => {
            tracing::warn!("second stop signal: ending the shutdown now");
            force.trigger();
            shutdown.await;
        }
    }
    access_log.flush_access_log(std::time::Duration::from_secs(2));
    ExitCode::SUCCESS
}
