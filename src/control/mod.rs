//! The control socket `.drover/drover.sock` (mode 0600) of a running
//! instance: it accepts connections and reads each one's first line within
//! bounds (size, time, how many at once), then hands a client's hello to
//! the instance API; anything else is told what the socket speaks and
//! closed. Also the memory sink that commands run inside the instance
//! print into.
//!
//! May call: nothing but std and tokio; the instance supplies the API.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::net::UnixListener;

/// Where a command run inside the instance prints: kept in memory and
/// handed back whole (`answer`), so a client that reads slowly never holds
/// up the command (nor the engine, for one run in its turn).
#[derive(Clone, Default)]
pub struct Sink {
    answer: std::sync::Arc<std::sync::Mutex<Answer>>,
}

/// What a command run into a memory sink said.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub out: String,
    pub err: String,
    pub code: u8,
}

impl Sink {
    /// A sink that keeps what it is given; `answer` reads it back.
    pub fn memory() -> Sink {
        Sink::default()
    }

    /// What the sink holds so far.
    pub fn answer(&self) -> Answer {
        self.answer.lock().map(|a| a.clone()).unwrap_or_default()
    }

    fn keep(&self, f: impl FnOnce(&mut Answer)) -> bool {
        match self.answer.lock() {
            Ok(mut answer) => {
                f(&mut answer);
                true
            }
            Err(_) => false,
        }
    }

    /// Standard output bytes; false once nobody can take them.
    pub fn out(&self, bytes: &[u8]) -> bool {
        self.keep(|a| a.out.push_str(&String::from_utf8_lossy(bytes)))
    }

    pub fn err(&self, bytes: &[u8]) -> bool {
        self.keep(|a| a.err.push_str(&String::from_utf8_lossy(bytes)))
    }

    pub fn exit(&self, code: u8) {
        self.keep(|a| a.code = code);
    }
}

pub fn socket_path(root: &Path) -> PathBuf {
    root.join(".drover").join("drover.sock")
}

/// How long a client may take to send its first line.
pub const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(3);

/// Largest first line a client may send: a hello is a few dozen bytes.
pub const MAX_REQUEST: usize = 1 << 20;
/// Most connections still sending their first line at once. One more evicts
/// the one that has been sending longest: a client that trickles its
/// request never locks out the others.
pub const MAX_READING: usize = 64;
/// How long to wait after an accept failed before the next.
const ACCEPT_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// Serves the socket. Each connection's first line is read on the runtime
/// without a thread of its own, bounded in size (`MAX_REQUEST`), in time
/// (`ANSWER_WITHIN` for the whole line, not per byte) and in number
/// (`MAX_READING`); a hello goes to `api` (the stream, the line, and what
/// was read after it), which must return at once (spawning what talks).
pub async fn serve<A>(socket: PathBuf, api: A) -> std::io::Result<()>
where
    A: Fn(tokio::net::UnixStream, Vec<u8>, Vec<u8>) + Send + Sync + Clone + 'static,
{
    // Only one instance has the store, so a socket file left here is stale.
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))?;
    }
    // Connections still sending their first line, oldest first.
    let mut reading: std::collections::VecDeque<tokio::task::AbortHandle> =
        std::collections::VecDeque::new();
    loop {
        // A failed accept (out of file descriptors in a flood, a client
        // gone before it was taken) ends nothing: the next one may work.
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        reading.retain(|h| !h.is_finished());
        if reading.len() >= MAX_READING
            && let Some(oldest) = reading.pop_front()
        {
            oldest.abort();
        }
        let api = api.clone();
        let task = tokio::spawn(async move {
            match read_first(stream).await {
                First::Hello(stream, hello, rest) => api(stream, hello, rest),
                First::Refused(mut stream, why) => {
                    use tokio::io::AsyncWriteExt;
                    let line = serde_json::json!({ "id": 0, "error": why }).to_string() + "\n";
                    let _ = tokio::time::timeout(ANSWER_WITHIN, stream.write_all(line.as_bytes()))
                        .await;
                }
                First::Gone => {}
            }
        });
        reading.push_back(task.abort_handle());
        // First lines already sent are read before more connections are
        // taken: in a flood of new connections, a client that says hello at
        // once is read before it could become the oldest and be dropped.
        tokio::task::yield_now().await;
    }
}

/// A connection's first line.
enum First {
    /// An API client's hello: the stream, the line, what was read after it.
    Hello(tokio::net::UnixStream, Vec<u8>, Vec<u8>),
    /// Not a hello (a command line from an older drover, too long): why.
    Refused(tokio::net::UnixStream, String),
    /// The client went away or was too slow: nobody to tell.
    Gone,
}

/// Reads one line within `ANSWER_WITHIN`.
async fn read_first(stream: tokio::net::UnixStream) -> First {
    use tokio::io::AsyncBufReadExt;
    let mut line = Vec::new();
    let mut reader = tokio::io::BufReader::new(tokio::io::AsyncReadExt::take(
        stream,
        MAX_REQUEST as u64 + 1,
    ));
    let read = tokio::time::timeout(ANSWER_WITHIN, reader.read_until(b'\n', &mut line)).await;
    let rest = reader.buffer().to_vec();
    let stream = reader.into_inner().into_inner();
    match read {
        Err(_) | Ok(Err(_)) => First::Gone,
        Ok(Ok(_)) if line.len() > MAX_REQUEST => First::Refused(
            stream,
            format!("a first line over {} MiB; the socket speaks the drover instance API", MAX_REQUEST >> 20),
        ),
        Ok(Ok(_)) if !line.ends_with(b"\n") => First::Gone,
        Ok(Ok(_)) if line.starts_with(b"{\"hello\"") => First::Hello(stream, line, rest),
        Ok(Ok(_)) => First::Refused(
            stream,
            "the socket speaks the drover instance API: open with {\"hello\":{\"version\":1,\"client\":\"…\"}} (a drover of the same version does)".into(),
        ),
    }
}
