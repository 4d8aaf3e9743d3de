//! `cors/origin.htm`: the `Access-Control-Allow-Origin` values it tries.

use super::*;

/// `cors/origin.htm`: every value it tries, beyond the ones named above.
#[test]
fn a_origin_htm_values() {
    let host = "web-platform.test:8000";
    let pass = [
        "*",
        " *  ",
        "\t*",
        O,
        &format!(" {O}"),
        &format!(" {O}   \t "),
        &format!("\t{O}"),
    ]
    .map(|s| s.to_string());
    let fail = [
        format!("http://www1.{host}"),
        format!("//{host}"),
        format!("://{host}"),
        format!("ftp://{host}"),
        format!("http:://{host}"),
        format!("http:/{host}"),
        format!("http:{host}"),
        host.to_string(),
        format!("{O}?"),
        format!("{O}/"),
        format!("{O} /"),
        format!("{O}#"),
        format!("{O}%23"),
        format!("{O}:80"),
        format!("{O}, *"),
        format!("{O}\0"),
        O.to_uppercase(),
        format!("HTTP://{host}"),
        "-".into(),
        "**".into(),
        "\0*".into(),
        "*\0".into(),
        "'*'".into(),
        "\"*\"".into(),
        "* *".into(),
        "* null".into(),
        "*http://*".into(),
        format!("*{O}"),
        format!("* {O}"),
        format!("*, {O}"),
        format!("\0{O}"),
        format!("null {O}"),
        "http://example.net".into(),
        "null".into(),
        "null *".into(),
        "".into(),
        format!("{O}/cors/origin.htm"),
        format!("{O}/cors/"),
        R.into(),
        "web-platform.test:8000".into(),
        ".web-platform.test:8000".into(),
        "*.web-platform.test:8000".into(),
        "http://web-platform.test:8000".replace("web-platform", "platform"),
        "http://.web-platform.test:8000".into(),
        "http://*.web-platform.test:8000".into(),
    ];
    let top = url(R, "/cors-makeheader");
    let verdict = |acao: Vec<(&str, &str)>| {
        let mut cache = PreflightCache::new(Profile::Chromium);
        let response = ServerResponse::new(200, &acao);
        simulate(
            &get(&top),
            Profile::Chromium,
            &mut cache,
            Duration::ZERO,
            |_| response.clone(),
        )
        .outcome
    };
    for v in &pass {
        assert!(
            verdict(vec![("Access-Control-Allow-Origin", v)]).is_allowed(),
            "should pass: {v:?}"
        );
    }
    for v in &fail {
        let outcome = verdict(vec![("Access-Control-Allow-Origin", v)]);
        assert!(outcome.is_blocked(), "should fail: {v:?}");
    }
    // doubleOrigin(): two header lines never pass.
    for (a, b) in [("", "*"), ("*", ""), ("*", "*"), ("", O), ("*", O), (O, O)] {
        let outcome = verdict(vec![
            ("Access-Control-Allow-Origin", a),
            ("Access-Control-Allow-Origin", b),
        ]);
        assert!(outcome.is_blocked(), "two lines should fail: {a:?}, {b:?}");
    }
}
