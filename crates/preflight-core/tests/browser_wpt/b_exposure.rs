//! WPT cases, part B. Response-header exposure.

use super::*;

pub(super) fn rows(rows: &mut Vec<Row>) {
    // B. Response-header exposure.
    let b1 = [
        "Cache-Control",
        "Content-Language",
        "Content-Type",
        "Expires",
        "Last-Modified",
        "Pragma",
        "Content-Length",
    ];
    let mut b1_headers = vec![("Access-Control-Allow-Origin", "*")];
    b1_headers.extend(b1.iter().map(|n| (*n, "1")));
    rows.push(
        row(
            "B1",
            get(&url(P, "/filter")),
            always(200, &b1_headers),
            Expect::Allow,
        )
        .check(move |t| {
            let e = exposed(t);
            match b1.iter().find(|n| !e.contains(&n.to_ascii_lowercase())) {
                None => Ok(()),
                Some(n) => Err(format!("{n} hidden: {e:?}")),
            }
        }),
    );
    let b2 = ["Age", "Server", "Warning", "Set-Cookie", "Set-Cookie2"];
    let mut b2_headers = vec![("Access-Control-Allow-Origin", "*")];
    b2_headers.extend(b2.iter().map(|n| (*n, "1")));
    rows.push(
        row(
            "B2",
            get(&url(P, "/filter")),
            always(200, &b2_headers),
            Expect::Allow,
        )
        .check(move |t| {
            let e = exposed(t);
            match b2.iter().find(|n| e.contains(&n.to_ascii_lowercase())) {
                None => Ok(()),
                Some(n) => Err(format!("{n} exposed: {e:?}")),
            }
        }),
    );
    for creds in [CredentialsMode::Omit, CredentialsMode::Include] {
        for name in ["Age", "Server", "Warning"] {
            rows.push(
                row(
                    format!("B3[{creds} {name}]"),
                    get(&url(P, "/filter")).credentials(creds),
                    always(
                        200,
                        &[
                            ("Access-Control-Allow-Origin", O),
                            ("Access-Control-Allow-Credentials", "true"),
                            ("Access-Control-Expose-Headers", name),
                            (name, "1"),
                        ],
                    ),
                    Expect::Allow,
                )
                .check(move |t| {
                    if exposed(t).contains(&name.to_ascii_lowercase()) {
                        Ok(())
                    } else {
                        Err(format!("{name} hidden"))
                    }
                }),
            );
        }
        for name in ["Set-Cookie", "Set-Cookie2"] {
            rows.push(
                row(
                    format!("B4[{creds} {name}]"),
                    get(&url(P, "/filter")).credentials(creds),
                    always(
                        200,
                        &[
                            ("Access-Control-Allow-Origin", O),
                            ("Access-Control-Allow-Credentials", "true"),
                            ("Access-Control-Expose-Headers", name),
                            (name, "a=1"),
                        ],
                    ),
                    Expect::Allow,
                )
                .check(move |t| {
                    if exposed(t).contains(&name.to_ascii_lowercase()) {
                        Err(format!("{name} exposed"))
                    } else {
                        Ok(())
                    }
                }),
            );
        }
    }
    rows.push(
        row(
            "B7",
            get(&url(P, "/expose-star")),
            always(
                200,
                &[
                    ("Access-Control-Allow-Origin", "*"),
                    ("Access-Control-Expose-Headers", "set-cookie, *"),
                    ("test", "X"),
                    ("set-cookie", "a=1"),
                ],
            ),
            Expect::Allow,
        )
        .check(|t| {
            let e = exposed(t);
            if e.contains(&"test".to_string()) && !e.contains(&"set-cookie".to_string()) {
                Ok(())
            } else {
                Err(format!("exposed: {e:?}"))
            }
        }),
    );
}
