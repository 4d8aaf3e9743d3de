//! `preflight check` over https, against the gateway serving TLS (rustls, ALPN),
//! with a private CA given by `--cacert`; without it, a TLS failure is an error
//! (exit 2) with a clear message, never a verdict.

use std::path::Path;
use std::process::Command;

use preflight_gateway::{Config, Gateway};
use preflight_test_kit::cli::{self, TempDir};

const CONFIG: &str = r#"
[server]
listen = "127.0.0.1:0"
tls = { cert = "cert.pem", key = "key.pem" }

[cors]
allow_origins = ["https://app.example.com"]
allow_headers = ["content-type"]
allow_credentials = true

[[routes]]
path = "/api/{*rest}"
methods = ["GET", "PUT"]
upstream = "http://127.0.0.1:9"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_over_https_with_a_private_ca() {
    let dir = TempDir::new("check-tls");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    dir.write("cert.pem", ck.cert.pem());
    dir.write("key.pem", ck.key_pair.serialize_pem());
    let config = Config::parse(CONFIG, Path::new("tls.toml"), dir.path()).unwrap();
    let running = preflight_gateway::start(Gateway::new(config))
        .await
        .unwrap();
    let port = running.local_addrs()[0].port();
    let url = format!("https://localhost:{port}/api/users");
    let cacert = dir.join("cert.pem");

    // The preflight is answered by the gateway over TLS; the PUT is not sent.
    let out = tokio::task::spawn_blocking({
        let (url, cacert) = (url.clone(), cacert.clone());
        move || {
            cli::run(
                Command::new(env!("CARGO_BIN_EXE_preflight"))
                    .args([
                        "check",
                        &url,
                        "--origin",
                        "https://app.example.com",
                        "-X",
                        "PUT",
                    ])
                    .args([
                        "-H",
                        "content-type: application/json",
                        "--credentials",
                        "include",
                        "--json",
                    ])
                    .arg("--cacert")
                    .arg(&cacert),
            )
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["verdict"], "allowed");
    assert_eq!(json["preflight"]["status"], 204);
    assert_eq!(
        json["preflight"]["headers"]["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(json["actual"]["sent"], false);

    // Without the CA the certificate is not trusted: exit 2, and it says TLS.
    let out = tokio::task::spawn_blocking(move || {
        cli::run(Command::new(env!("CARGO_BIN_EXE_preflight")).args([
            "check",
            &url,
            "--origin",
            "https://app.example.com",
        ]))
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("TLS failure"), "{stderr}");
    assert!(stderr.contains("--cacert"), "{stderr}");
    running.shutdown().await;
}
