//! WPT cases, part G. Credentials and cookies.

use super::*;

pub(super) fn rows(rows: &mut Vec<Row>) {
    let include = CredentialsMode::Include;
    // G. Credentials and cookies. Cookie storage (which jar, Set-Cookie
    // honoured or not, ITP/TCP partitioning) is out of scope: no I/O, no jar.
    // What is modelled is docs/browser-model.md#credentials: whether the request carries credentials at all,
    // and that script never reads Set-Cookie.
    let creds_sent = |want: bool| {
        move |t: &FetchTrace| {
            let sent = t.last_request().map(|r| r.credentials);
            if sent == Some(want) {
                Ok(())
            } else {
                Err(format!("credentials sent: {sent:?}, expected {want}"))
            }
        }
    };
    let g_server = || {
        always(
            200,
            &[
                ("Access-Control-Allow-Origin", O),
                ("Access-Control-Allow-Credentials", "true"),
                ("Set-Cookie", "a=1"),
            ],
        )
    };
    rows.push(
        row(
            "G1",
            get(&url(R, "/cookies")).credentials(include),
            g_server(),
            Expect::Allow,
        )
        .check(move |t| {
            if exposed(t).contains(&"set-cookie".to_string()) {
                Err("set-cookie exposed".into())
            } else {
                creds_sent(true)(t)
            }
        }),
    );
    rows.push(
        row("G2", get(&url(R, "/cookies")), g_server(), Expect::Allow).check(creds_sent(false)),
    );
    rows.push(
        row(
            "G3[O->R include]",
            get(&url(R, "/cookies")).credentials(include),
            g_server(),
            Expect::Allow,
        )
        .check(creds_sent(true)),
    );
    rows.push(
        row(
            "G3[O->O same-origin]",
            get(&url(O, "/cookies")),
            always(200, &[]),
            Expect::Allow,
        )
        .check(creds_sent(true)),
    );
    rows.push(
        row(
            "G3[O->R2 omit]",
            get(&url(R2, "/cookies")).credentials(CredentialsMode::Omit),
            g_server(),
            Expect::Allow,
        )
        .check(creds_sent(false)),
    );
}
