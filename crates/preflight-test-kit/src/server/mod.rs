//! The one scripted HTTP server of the tests.
//!
//! HTTP/1.1 (with upgrades) on `127.0.0.1:0`, on a thread and a runtime of its
//! own, so that a plain `#[test]` can use it as well as a `#[tokio::test]`.
//! A handler decides every answer: [`Server::start`] takes a closure on the
//! whole request (body read) that returns a [`Reply`]; [`Server::streaming`]
//! takes an async handler on the request as hyper gives it, for slow or held
//! bodies, uploads read chunk by chunk and upgrades. Every request is recorded
//! on arrival, before the handler runs ([`Server::received`]). Dropping the
//! server stops it and ends its connections.
//!
//! ```
//! use preflight_test_kit::{Reply, Server};
//!
//! let server = Server::start(|req| Reply::ok(format!("{} {}", req.method, req.path))).unwrap();
//! assert!(server.origin().starts_with("http://127.0.0.1:"));
//! assert!(server.received().is_empty());
//! ```

mod received;
mod reply;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use received::{Query, Received};
pub use reply::{empty, full, Body, Reply};

/// How long a request body may take to arrive for a [`Server::start`] handler.
const BODY_DEADLINE: Duration = Duration::from_secs(30);
/// How long dropping a server waits for its thread to end.
const STOP_DEADLINE: Duration = Duration::from_secs(2);

static ARRIVAL: AtomicU64 = AtomicU64::new(0);

type Whole = dyn Fn(&Received) -> Reply + Send + Sync;
type Answer = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;
type Streaming = dyn Fn(Request<Incoming>) -> Answer + Send + Sync;

enum Handler {
    Whole(Box<Whole>),
    Streaming(Box<Streaming>),
}

type Log = Arc<Mutex<Vec<Received>>>;

/// A running scripted server; stopped on drop.
pub struct Server {
    addr: SocketAddr,
    log: Log,
    stop: Option<oneshot::Sender<()>>,
    /// Told when the server's thread has ended (in a mutex: a server may sit
    /// in a `static`, shared by the tests of one file).
    stopped: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl Server {
    /// Serve answers decided by `handler` from the whole request.
    pub fn start<R: Into<Reply>>(
        handler: impl Fn(&Received) -> R + Send + Sync + 'static,
    ) -> Result<Server, String> {
        Server::named("", handler)
    }

    /// The page a browser opens before it fetches: an empty HTML document
    /// on an origin of its own, so that a fetch from it to another loopback
    /// port is cross-origin.
    pub fn page() -> Result<Server, String> {
        Server::start(|_| {
            (
                200,
                vec![("content-type".into(), "text/html".into())],
                "<!doctype html><title>page</title>".into(),
            )
        })
    }

    /// [`Server::start`], with `name` in every [`Received::server`]: the
    /// requests of several servers (several origins) then tell where they went.
    pub fn named<R: Into<Reply>>(
        name: &'static str,
        handler: impl Fn(&Received) -> R + Send + Sync + 'static,
    ) -> Result<Server, String> {
        Server::spawn(
            name,
            Handler::Whole(Box::new(move |req| handler(req).into())),
        )
    }

    /// Serve answers decided by an async `handler` that reads the request (its
    /// body, its upgrade) itself. The recorded request has an empty body.
    pub fn streaming<F>(
        handler: impl Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    ) -> Result<Server, String>
    where
        F: Future<Output = Response<Body>> + Send + 'static,
    {
        Server::spawn(
            "",
            Handler::Streaming(Box::new(move |req| Box::pin(handler(req)))),
        )
    }

    fn spawn(name: &'static str, handler: Handler) -> Result<Server, String> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("non-blocking listener: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("listener address: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("server runtime: {e}"))?;
        let log: Log = Arc::default();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let (done, stopped) = std::sync::mpsc::channel();
        let handler = Arc::new(handler);
        let accept_log = log.clone();
        std::thread::Builder::new()
            .name(format!("test-server-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        _ = stop_rx => {}
                        _ = accept(listener, name, handler, accept_log) => {}
                    }
                });
                // Dropping the runtime ends every connection still open.
                drop(runtime);
                let _ = done.send(());
            })
            .map_err(|e| format!("server thread: {e}"))?;
        Ok(Server {
            addr,
            log,
            stop: Some(stop),
            stopped: Mutex::new(stopped),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// How many requests arrived so far.
    pub fn hits(&self) -> usize {
        self.log.lock().map(|l| l.len()).unwrap_or_default()
    }

    /// The last request that arrived.
    pub fn last(&self) -> Option<Received> {
        self.log.lock().ok().and_then(|l| l.last().cloned())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Ok(stopped) = self.stopped.lock() {
            let _ = stopped.recv_timeout(STOP_DEADLINE);
        }
    }
}

async fn accept(listener: TcpListener, name: &'static str, handler: Arc<Handler>, log: Log) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors, say: try again shortly rather than spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let handler = handler.clone();
        let log = log.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let handler = handler.clone();
                let log = log.clone();
                async move { Ok::<_, Infallible>(answer(name, &handler, &log, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

async fn answer(
    name: &'static str,
    handler: &Handler,
    log: &Mutex<Vec<Received>>,
    req: Request<Incoming>,
) -> Response<Body> {
    let mut received = Received {
        seq: ARRIVAL.fetch_add(1, Ordering::SeqCst),
        server: name,
        method: req.method().to_string(),
        path: req
            .uri()
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: Bytes::new(),
    };
    match handler {
        Handler::Whole(handler) => {
            match tokio::time::timeout(BODY_DEADLINE, req.into_body().collect()).await {
                Ok(Ok(body)) => received.body = body.to_bytes(),
                _ => {
                    let mut res = Response::new(full("the request body did not arrive"));
                    *res.status_mut() = StatusCode::BAD_REQUEST;
                    return res;
                }
            }
            record(log, &received);
            let reply = handler(&received);
            if let Some(delay) = reply.delay() {
                tokio::time::sleep(delay).await;
            }
            reply.into_response()
        }
        Handler::Streaming(handler) => {
            record(log, &received);
            handler(req).await
        }
    }
}

fn record(log: &Mutex<Vec<Received>>, received: &Received) {
    if let Ok(mut log) = log.lock() {
        log.push(received.clone());
    }
}
