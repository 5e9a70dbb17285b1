//! The control socket `.drover/drover.sock` (mode 0600) of a running
//! instance: other drover commands hand their command line to it, and it
//! runs them against its own store and engine, streaming their output back.
//!
//! Wire: the client sends one JSON line, `{"args": [...]}` (its arguments
//! after the program name). The server answers with frames: one kind byte
//! (`o` stdout bytes, `e` stderr bytes, `x` the exit status in one byte),
//! a u32 big-endian length, then the payload. `x` is the last frame. The
//! server first sends an empty `a` frame as soon as it has the request, so
//! a client can tell a stopped instance (Ctrl-Z in tmux) from a slow command.
//!
//! May call: nothing but std and tokio; the CLI supplies what runs.

use std::io::{BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::net::UnixListener;

#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    pub args: Vec<String>,
}

/// Where a command run for a client writes: the client's connection, in
/// frames. Writes block while the client is slow (no unbounded buffering).
/// A sink may also keep everything in memory, for a command run inside
/// the instance itself (the TUI's actions).
#[derive(Clone)]
pub struct Sink {
    target: std::sync::Arc<std::sync::Mutex<Target>>,
}

enum Target {
    Stream(UnixStream),
    Memory(Answer),
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
        Sink {
            target: std::sync::Arc::new(std::sync::Mutex::new(Target::Memory(Answer::default()))),
        }
    }

    /// What a memory sink holds so far (empty for a connection).
    pub fn answer(&self) -> Answer {
        match self.target.lock().as_deref() {
            Ok(Target::Memory(answer)) => answer.clone(),
            _ => Answer::default(),
        }
    }

    fn frame(&self, kind: u8, payload: &[u8]) -> bool {
        let Ok(mut target) = self.target.lock() else {
            return false;
        };
        match &mut *target {
            Target::Stream(stream) => {
                let mut head = [kind, 0, 0, 0, 0];
                head[1..].copy_from_slice(&(payload.len() as u32).to_be_bytes());
                stream
                    .write_all(&head)
                    .and_then(|()| stream.write_all(payload))
                    .is_ok()
            }
            Target::Memory(answer) => {
                let text = String::from_utf8_lossy(payload);
                match kind {
                    b'o' => answer.out.push_str(&text),
                    b'e' => answer.err.push_str(&text),
                    b'x' => answer.code = payload.first().copied().unwrap_or(0),
                    _ => {}
                }
                true
            }
        }
    }

    /// Standard output bytes; false once the client is gone.
    pub fn out(&self, bytes: &[u8]) -> bool {
        self.frame(b'o', bytes)
    }

    pub fn err(&self, bytes: &[u8]) -> bool {
        self.frame(b'e', bytes)
    }

    pub fn exit(&self, code: u8) {
        self.frame(b'x', &[code]);
    }
}

pub fn socket_path(root: &Path) -> PathBuf {
    root.join(".drover").join("drover.sock")
}

/// How long an instance may take to take a request before it counts as
/// not answering, and how long a client may take to send one.
pub const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(3);

/// What became of a call.
pub enum Called {
    /// The instance ran the command; its exit status.
    Done(u8),
    /// No instance listens (no socket, or a stale one).
    NoInstance,
    /// Something listens but does not take the request (stopped, overloaded).
    NoAnswer,
}

/// Runs `args` on the instance listening at `socket`, copying its output to
/// this process's stdout and stderr.
pub fn call(socket: &Path, args: &[String]) -> Called {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return Called::NoInstance;
    };
    let Ok(mut line) = serde_json::to_vec(&Request {
        args: args.to_vec(),
    }) else {
        return Called::NoInstance;
    };
    line.push(b'\n');
    if stream.set_write_timeout(Some(ANSWER_WITHIN)).is_err() || stream.write_all(&line).is_err() {
        return Called::NoAnswer;
    }
    let _ = stream.set_read_timeout(Some(ANSWER_WITHIN));
    let mut reader = BufReader::new(stream);
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let mut acknowledged = false;
    loop {
        let mut head = [0u8; 5];
        if reader.read_exact(&mut head).is_err() {
            if !acknowledged {
                return Called::NoAnswer;
            }
            let _ = writeln!(err, "drover: the running instance closed the connection");
            return Called::Done(1);
        }
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut payload = vec![0u8; len];
        if reader.read_exact(&mut payload).is_err() {
            return Called::Done(1);
        }
        match head[0] {
            b'a' => {
                // Taken: from now on the command may take as long as it needs.
                acknowledged = true;
                let _ = reader.get_ref().set_read_timeout(None);
            }
            b'o' => {
                if out.write_all(&payload).and_then(|()| out.flush()).is_err() {
                    return Called::Done(0); // the reader went away (`| head`)
                }
            }
            b'e' => {
                let _ = err.write_all(&payload);
            }
            b'x' => return Called::Done(payload.first().copied().unwrap_or(1)),
            _ => return Called::Done(1),
        }
    }
}

/// Largest request a client may send: a command line, so 1 MiB is far
/// more than any needs.
pub const MAX_REQUEST: usize = 1 << 20;
/// Most connections still sending their request at once. One more evicts
/// the one that has been sending longest: a client that trickles its
/// request never locks out the others.
pub const MAX_READING: usize = 64;
/// How long a client may read nothing while its answer waits (its socket
/// buffers full) before it is dropped and its command stopped.
pub const CLIENT_STALLED: std::time::Duration = std::time::Duration::from_secs(60);
/// How long to wait after an accept failed before the next.
const ACCEPT_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);
/// Most client commands running at once (a `logs --follow` runs until its
/// try ends). One more is told the instance is busy.
pub const MAX_RUNNING: usize = 64;

/// Serves the socket. Each connection's request is read on the runtime
/// without a thread of its own, bounded in size (`MAX_REQUEST`), in time
/// (`ANSWER_WITHIN` for the whole request, not per byte) and in number
/// (`MAX_READING`); then its command line runs on a blocking thread
/// (`MAX_RUNNING` at once), where `run` writes the output to the sink.
pub async fn serve<F, A>(socket: PathBuf, run: F, api: A) -> std::io::Result<()>
where
    F: Fn(Vec<String>, Sink) + Send + Sync + Clone + 'static,
    A: Fn(tokio::net::UnixStream, Vec<u8>, Vec<u8>) + Send + Sync + Clone + 'static,
{
    // Only one instance has the store, so a socket file left here is stale.
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))?;
    }
    let running = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_RUNNING));
    // Connections still sending their request, oldest first.
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
        let (run, running, api) = (run.clone(), running.clone(), api.clone());
        let task = tokio::spawn(async move {
            let (stream, request) = match read_request(stream).await {
                None => return,
                Some(First::Api(stream, hello, rest)) => return api(stream, hello, rest),
                Some(First::Command(stream, request)) => (stream, request),
            };
            // Taken off the reading list: from here it runs its command.
            let permit = running.try_acquire_owned();
            tokio::task::spawn_blocking(move || {
                let sink = Sink {
                    target: std::sync::Arc::new(std::sync::Mutex::new(Target::Stream(stream))),
                };
                match (request, permit) {
                    (Ok(request), Ok(_permit)) => {
                        if sink.frame(b'a', &[]) {
                            run(request.args, sink);
                        }
                    }
                    (Ok(_), Err(_)) => {
                        sink.err(
                            format!(
                                "drover: the instance is busy: {MAX_RUNNING} client commands are running (logs --follow counts until its try ends); try again when one ends\n"
                            )
                            .as_bytes(),
                        );
                        sink.exit(1);
                    }
                    (Err(why), _) => {
                        sink.err(format!("drover: {why}\n").as_bytes());
                        sink.exit(2);
                    }
                }
            });
        });
        reading.push_back(task.abort_handle());
    }
}

/// A connection's first line: an API client's hello (with the stream,
/// the line and what was read after it), or a command line.
enum First {
    Api(tokio::net::UnixStream, Vec<u8>, Vec<u8>),
    Command(UnixStream, Result<Request, String>),
}

/// Reads one request line within `ANSWER_WITHIN`. None when the client is
/// gone or too slow (it is dropped without an answer: nothing listens);
/// an error to tell the client when the request is too large or not a
/// request. A command's stream comes back in blocking mode.
async fn read_request(stream: tokio::net::UnixStream) -> Option<First> {
    use tokio::io::AsyncBufReadExt;
    let mut line = Vec::new();
    let mut reader = tokio::io::BufReader::new(tokio::io::AsyncReadExt::take(
        stream,
        MAX_REQUEST as u64 + 1,
    ));
    let read = tokio::time::timeout(ANSWER_WITHIN, reader.read_until(b'\n', &mut line)).await;
    let rest = reader.buffer().to_vec();
    let stream = reader.into_inner().into_inner();
    if matches!(read, Ok(Ok(_))) && line.ends_with(b"\n") && line.starts_with(b"{\"hello\"") {
        return Some(First::Api(stream, line, rest));
    }
    let stream = stream.into_std().ok()?;
    stream.set_nonblocking(false).ok()?;
    stream.set_write_timeout(Some(CLIENT_STALLED)).ok()?;
    let request = match read {
        Err(_) | Ok(Err(_)) => return None,
        Ok(Ok(_)) if line.len() > MAX_REQUEST => Err(format!(
            "a request over {} MiB; the instance takes command lines only",
            MAX_REQUEST >> 20
        )),
        Ok(Ok(_)) if !line.ends_with(b"\n") => return None,
        Ok(Ok(_)) => serde_json::from_slice::<Request>(&line)
            .map_err(|_| "a request the instance does not understand".to_string()),
    };
    Some(First::Command(stream, request))
}
