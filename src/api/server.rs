//! Serves API connections: each client's calls are answered concurrently
//! (a few at once per client), its answers and events go out through one
//! bounded queue, and nothing a client does — sending slowly, reading
//! slowly, not reading at all — holds up the engine or another client.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, broadcast, mpsc};

use super::{Down, Hello, MAX_CALL, Service, Up, VERSION, Welcome};
use crate::engine::EngineEvent;

/// Most screens and clients connected at once.
pub const MAX_CLIENTS: usize = 64;
/// Calls of one client answered at once; more wait their turn.
const CALLS_AT_ONCE: usize = 8;
/// Lines waiting to be written to one client.
const OUT_QUEUE: usize = 256;
/// Events are sent at most this often to one client: a burst of changes
/// is one line, one wake-up.
const COALESCE: Duration = Duration::from_millis(20);
/// A batch longer than this is sent as "resync" (read everything again).
const MAX_BATCH: usize = 1024;
/// How long a client may read nothing while lines wait for it.
pub const CLIENT_STALLED: Duration = Duration::from_secs(60);

/// The API side of an instance's socket.
#[derive(Clone)]
pub struct Server {
    service: Arc<Service>,
    clients: Arc<Semaphore>,
}

impl Server {
    pub fn new(service: Arc<Service>) -> Server {
        Server {
            service,
            clients: Arc::new(Semaphore::new(MAX_CLIENTS)),
        }
    }

    /// Talks to one client until it leaves. `hello` is its first line,
    /// already read; `rest` what was read after it.
    pub async fn connection<S>(&self, stream: S, hello: &[u8], rest: Vec<u8>)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read, mut write) = tokio::io::split(stream);
        let hello = match serde_json::from_slice::<Up>(hello) {
            Ok(Up::Hello(hello)) => hello,
            _ => return,
        };
        let refused = if hello.version != VERSION {
            Some(format!(
                "this instance speaks API version {VERSION}, the client {}: use the same drover on both sides",
                hello.version
            ))
        } else {
            None
        };
        let permit = self.clients.clone().try_acquire_owned();
        let refused = refused.or_else(|| {
            permit.is_err().then(|| {
                format!("{MAX_CLIENTS} clients are connected already; close one and try again")
            })
        });
        let welcome = Down::Welcome(Welcome {
            version: VERSION,
            pid: std::process::id(),
            home: self.service.reader.home(),
            refused: refused.clone(),
        });
        let Some(line) = encode(&welcome) else { return };
        let sent = tokio::time::timeout(CLIENT_STALLED, write.write_all(&line)).await;
        if refused.is_some() || !matches!(sent, Ok(Ok(()))) {
            return;
        }
        let (out, mut queue) = mpsc::channel::<Vec<u8>>(OUT_QUEUE);
        let mut writer = tokio::spawn(async move {
            while let Some(line) = queue.recv().await {
                match tokio::time::timeout(CLIENT_STALLED, write.write_all(&line)).await {
                    Ok(Ok(())) => {}
                    _ => return,
                }
            }
        });
        let reading = self.read_calls(read, rest, hello, out);
        tokio::select! {
            () = reading => {}
            _ = &mut writer => {}
        }
        writer.abort();
    }

    /// Reads calls until the client closes or sends what is not a call;
    /// each is answered on a task of its own.
    async fn read_calls<R>(&self, read: R, rest: Vec<u8>, hello: Hello, out: mpsc::Sender<Vec<u8>>)
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        let mut reader = tokio::io::BufReader::new(std::io::Cursor::new(rest).chain(read));
        let calls = Arc::new(Semaphore::new(CALLS_AT_ONCE));
        let mut events: Option<tokio::task::JoinHandle<()>> = None;
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = (&mut reader)
                .take(MAX_CALL as u64 + 1)
                .read_until(b'\n', &mut line)
                .await;
            if !matches!(read, Ok(n) if n > 0) || line.len() > MAX_CALL || !line.ends_with(b"\n") {
                break;
            }
            let (id, call) = match serde_json::from_slice::<Up>(&line) {
                Ok(Up::Call { id, call }) => (id, call),
                Ok(Up::Hello(_)) => continue,
                Err(e) => {
                    let reply = Down::Reply {
                        id: 0,
                        ok: None,
                        error: Some(format!("not a call this instance understands: {e}")),
                    };
                    if let Some(line) = encode(&reply) {
                        let _ = out.send(line).await;
                    }
                    continue;
                }
            };
            if call == super::Call::Subscribe
                && events.is_none()
                && let Some(engine) = &self.service.engine
            {
                events = Some(tokio::spawn(forward_events(
                    engine.subscribe(),
                    out.clone(),
                )));
            }
            let Ok(permit) = calls.clone().acquire_owned().await else {
                break;
            };
            let (service, out, read_only) = (self.service.clone(), out.clone(), hello.read_only);
            tokio::spawn(async move {
                let answer = service.answer(call, read_only).await;
                drop(permit);
                let reply = match answer {
                    Ok(ok) => Down::Reply {
                        id,
                        ok: Some(ok),
                        error: None,
                    },
                    Err(error) => Down::Reply {
                        id,
                        ok: None,
                        error: Some(error),
                    },
                };
                // (A page of runs is a megabyte of JSON: not on the
                // runtime's thread, which the engine shares.)
                let encoded = tokio::task::spawn_blocking(move || encode(&reply)).await;
                if let Ok(Some(line)) = encoded {
                    let _ = out.send(line).await;
                }
            });
        }
        if let Some(events) = events {
            events.abort();
        }
    }
}

/// Sends the engine's events to one client, a batch at most every
/// `COALESCE`. A client whose queue is full misses events; it is told to
/// read everything again once there is room ("resync").
async fn forward_events(mut events: broadcast::Receiver<EngineEvent>, out: mpsc::Sender<Vec<u8>>) {
    use broadcast::error::{RecvError, TryRecvError};
    let mut behind = false;
    loop {
        let mut batch = Vec::new();
        match events.recv().await {
            Ok(event) => batch.push(event),
            Err(RecvError::Lagged(_)) => behind = true,
            Err(RecvError::Closed) => return,
        }
        loop {
            match events.try_recv() {
                Ok(event) => batch.push(event),
                Err(TryRecvError::Lagged(_)) => behind = true,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => return,
            }
        }
        behind |= batch.len() > MAX_BATCH;
        let down = if behind {
            Down::Resync(true)
        } else {
            Down::Events(batch)
        };
        if let Some(line) = encode(&down) {
            match out.try_send(line) {
                Ok(()) => behind = false,
                Err(mpsc::error::TrySendError::Full(_)) => behind = true,
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
        tokio::time::sleep(COALESCE).await;
    }
}

/// One line of the wire.
pub fn encode(down: &impl serde::Serialize) -> Option<Vec<u8>> {
    let mut line = serde_json::to_vec(down).ok()?;
    line.push(b'\n');
    Some(line)
}
