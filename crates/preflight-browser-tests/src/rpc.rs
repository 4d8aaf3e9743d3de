//! JSON commands over a websocket, answered by id: the shape both the Chrome
//! DevTools Protocol and WebDriver BiDi use (`{"id", "method", "params"}` out;
//! `{"id", "result"}` or `{"id", "error"}` back; anything without an id is an
//! event).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

/// How long any one command may take.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The sending half of a connection; events arrive on the receiver
/// [`Rpc::connect`] returns.
pub(crate) struct Rpc {
    outgoing: mpsc::UnboundedSender<String>,
    pending: Pending,
    next_id: AtomicU64,
}

impl Rpc {
    pub(crate) async fn connect(
        url: &str,
    ) -> Result<(Rpc, mpsc::UnboundedReceiver<Value>), String> {
        let (ws, _) = tokio::time::timeout(COMMAND_TIMEOUT, tokio_tungstenite::connect_async(url))
            .await
            .map_err(|_| format!("{url}: no websocket in 30 s"))?
            .map_err(|e| format!("cannot connect to {url}: {e}"))?;
        let (mut sink, mut stream) = ws.split();
        let (outgoing, mut out_rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(text) = out_rx.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        });
        let pending: Pending = Arc::default();
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let pending_in = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                if let Some(id) = value.get("id").and_then(Value::as_u64) {
                    let waiter = pending_in.lock().ok().and_then(|mut p| p.remove(&id));
                    if let Some(waiter) = waiter {
                        let result = match value.get("error") {
                            Some(err) => Err(format!(
                                "{err} {}",
                                value.get("message").and_then(Value::as_str).unwrap_or("")
                            )),
                            None => Ok(value.get("result").cloned().unwrap_or(Value::Null)),
                        };
                        let _ = waiter.send(result);
                    }
                } else {
                    let _ = event_tx.send(value);
                }
            }
        });
        Ok((
            Rpc {
                outgoing,
                pending,
                next_id: AtomicU64::new(1),
            },
            event_rx,
        ))
    }

    /// Send `msg` (an object without `id`) and wait, bounded, for its answer.
    pub(crate) async fn call(&self, mut msg: Value) -> Result<Value, String> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let method = msg["method"].as_str().unwrap_or_default().to_string();
        msg["id"] = Value::from(id);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().map_err(|_| "poisoned")?.insert(id, tx);
        self.outgoing
            .send(msg.to_string())
            .map_err(|_| "connection closed".to_string())?;
        tokio::time::timeout(COMMAND_TIMEOUT, rx)
            .await
            .map_err(|_| format!("{method}: no answer in 30 s"))?
            .map_err(|_| "connection closed".to_string())?
    }
}
