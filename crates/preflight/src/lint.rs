//! `preflight lint`: every refusal and warning of a configuration file as a
//! diagnostic pointing at its file, line and key, with the fix.

use std::fmt;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode,
};
use preflight_gateway::{Config, Problem, Severity};

/// Arguments of `preflight lint`.
#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// The configuration file.
    #[arg(long, short = 'c', default_value = "./preflight.toml")]
    pub config: PathBuf,
}

/// Run `preflight lint`: exit 0 when the file loads (maybe with warnings),
/// 1 when it has errors.
pub async fn run(args: LintArgs) -> ExitCode {
    let (problems, summary, code) = match Config::load(&args.config) {
        Ok(config) => {
            let mut problems = config.warnings().to_vec();
            if let Some(tls) = &config.server.tls {
                if let Err(e) = preflight_gateway::server::tls_acceptor(tls) {
                    problems.push(tls_problem(e.to_string()));
                }
            }
            let errors = problems.iter().filter(|p| p.is_error()).count();
            let summary = format!(
                "{}: {} ({} route(s), {} warning(s))",
                args.config.display(),
                if errors == 0 { "ok" } else { "refused" },
                config.routes.len(),
                problems.len() - errors
            );
            (problems, summary, if errors == 0 { 0 } else { 1 })
        }
        Err(e) => {
            let errors = e.problems.iter().filter(|p| p.is_error()).count();
            let warnings = e.problems.len() - errors;
            let summary = format!(
                "{}: refused ({errors} error(s), {warnings} warning(s))",
                args.config.display()
            );
            (e.problems, summary, 1)
        }
    };
    eprint!("{}", render(&problems));
    if code == 0 {
        preflight_doctor::render::out(&format!("{summary}\n"));
    } else {
        eprintln!("{summary}");
    }
    ExitCode::from(code)
}

fn tls_problem(message: String) -> Problem {
    Problem {
        severity: Severity::Error,
        key: "server.tls".into(),
        message,
        help: Some(
            "point cert and key at PEM files (a certificate chain and its private key)".into(),
        ),
        source: None,
        span: None,
    }
}

/// Render problems as miette reports (colours only on a terminal).
pub fn render(problems: &[Problem]) -> String {
    let theme = if std::io::stderr().is_terminal() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme);
    let mut out = String::new();
    for p in problems {
        let diag = ProblemDiagnostic::new(p);
        if handler.render_report(&mut out, &diag).is_err() {
            out.push_str(&p.to_string());
        }
        out.push('\n');
    }
    out
}

/// A [`Problem`] as a miette diagnostic.
#[derive(Debug)]
struct ProblemDiagnostic {
    message: String,
    severity: Severity,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    label: Option<LabeledSpan>,
}

impl ProblemDiagnostic {
    fn new(p: &Problem) -> Self {
        let location = match (&p.source, p.line_col()) {
            (Some(src), Some((line, col))) => format!("{}:{line}:{col}: ", src.path.display()),
            (Some(src), None) => format!("{}: ", src.path.display()),
            _ => String::new(),
        };
        let source = p
            .source
            .as_ref()
            .map(|s| NamedSource::new(s.path.display().to_string(), s.text.to_string()));
        let label = p.span.as_ref().filter(|_| source.is_some()).map(|span| {
            let len = span.end.saturating_sub(span.start).max(1);
            LabeledSpan::new(Some(p.key.clone()), span.start, len)
        });
        ProblemDiagnostic {
            message: format!("{location}{}: {}", p.key, p.message),
            severity: p.severity,
            help: p.help.clone(),
            source,
            label,
        }
    }
}

impl fmt::Display for ProblemDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProblemDiagnostic {}

impl Diagnostic for ProblemDiagnostic {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.label
            .clone()
            .map(|l| Box::new(std::iter::once(l)) as Box<dyn Iterator<Item = LabeledSpan>>)
    }
}
