//! A client of an instance: over its socket, or over the standard input
//! and output of a command that reaches one (`ssh HOST drover api
//! --stdio`). Calls may come from any thread, many at once; a thread of
//! the client's own reads the answers and hands each to its caller, and
//! the instance's events to whoever listens.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::mpsc;

use super::{ApiError, Call, Down, Hello, MAX_REPLY, Result, Up, Welcome};
use crate::engine::EngineEvent;
use crate::flow::{Config, Flow};
use crate::home::Problems;
use crate::logs::{LogDir, TryFiles};

/// How long an instance may take to welcome a client.
pub const WELCOME_WITHIN: Duration = Duration::from_secs(5);
/// How long a read may take before the instance counts as not answering.
const READ_WITHIN: Duration = Duration::from_secs(30);
/// How long an action may take (a sync fetches a remote).
const ACT_WITHIN: Duration = Duration::from_secs(600);

/// What the instance tells a client without being asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    Events(Vec<EngineEvent>),
    /// Too much changed to be told piece by piece: read everything again.
    Resync,
    /// Something asked for ahead has come: look again.
    Fetched,
    /// The connection ended; why.
    Gone(String),
}

type Waiting = Box<dyn FnOnce(Result<Value>) + Send>;

struct Shared {
    pending: Mutex<HashMap<u64, Waiting>>,
    /// Why the connection ended, once it has.
    gone: Mutex<Option<String>>,
    /// The last words the command reaching the instance wrote to stderr
    /// (written by the thread that reads them).
    stderr: Arc<Mutex<String>>,
}

impl Shared {
    fn end(&self, why: String) {
        let why = match self.stderr.lock().map(|s| s.trim().to_string()) {
            Ok(said) if !said.is_empty() => format!("{why} ({})", one_line(&said)),
            _ => why,
        };
        if let Ok(mut gone) = self.gone.lock() {
            gone.get_or_insert(why.clone());
        }
        let waiting: Vec<Waiting> = match self.pending.lock() {
            Ok(mut p) => p.drain().map(|(_, w)| w).collect(),
            Err(_) => Vec::new(),
        };
        for w in waiting {
            w(Err(ApiError::Gone(why.clone())));
        }
    }
}

pub struct Client {
    writer: Mutex<Box<dyn Write + Send>>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
    pub welcome: Welcome,
    notices: Mutex<Option<mpsc::UnboundedReceiver<Notice>>>,
    child: Mutex<Option<std::process::Child>>,
    logs: LogDir,
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Ok(Some(mut child)) = self.child.lock().map(|mut c| c.take()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Why no client could be made.
#[derive(Debug, Clone, PartialEq)]
pub enum Unreached {
    /// Nothing listens there.
    NoInstance,
    /// The connection ended before the instance answered: it is stopping,
    /// or dropped the connection in a flood of new ones.
    Closed,
    /// Something listens but will not talk, or does not answer: why.
    Refused(String),
}

impl std::fmt::Display for Unreached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreached::NoInstance => f.write_str("no instance listens on the socket"),
            Unreached::Closed => f.write_str("the connection ended before the instance answered"),
            Unreached::Refused(why) => f.write_str(why),
        }
    }
}

impl Client {
    /// Connects to the instance listening at `socket`.
    pub fn connect(socket: &Path, hello: Hello) -> std::result::Result<Client, Unreached> {
        let stream =
            std::os::unix::net::UnixStream::connect(socket).map_err(|_| Unreached::NoInstance)?;
        let cannot = |e: std::io::Error| Unreached::Refused(format!("cannot use the socket: {e}"));
        let read = stream.try_clone().map_err(cannot)?;
        let end = stream.try_clone().map_err(cannot)?;
        let _ = stream.set_write_timeout(Some(READ_WITHIN));
        // (No read timeout: the welcome is waited for with one, and reads
        // after it wait as long as the instance is quiet.)
        Client::start(Box::new(stream), Box::new(read), hello, None).inspect_err(|_| {
            // Ends the reading thread too.
            let _ = end.shutdown(std::net::Shutdown::Both);
        })
    }

    /// Runs `command` and talks to the instance over its stdin and stdout
    /// (`ssh HOST drover api --stdio`).
    pub fn spawn(
        mut command: std::process::Command,
        hello: Hello,
    ) -> std::result::Result<Client, String> {
        use std::process::Stdio;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err("cannot talk to the command: no pipes".into());
        };
        let shared_err = Arc::new(Mutex::new(String::new()));
        let listening = {
            let said = shared_err.clone();
            std::thread::Builder::new()
                .name("api-stderr".into())
                .spawn(move || keep_tail(stderr, &said))
                .ok()
        };
        // The welcome is waited for on the reader thread, bounded there.
        let started = Client::start(
            Box::new(stdin),
            Box::new(stdout),
            hello,
            Some(shared_err.clone()),
        );
        match started {
            Ok(client) => {
                if let Ok(mut c) = client.child.lock() {
                    *c = Some(child);
                }
                Ok(client)
            }
            Err(why) => {
                let _ = child.kill();
                let _ = child.wait();
                // Its stderr is closed now: all it said is read.
                if let Some(listening) = listening {
                    let _ = listening.join();
                }
                let said = shared_err
                    .lock()
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default();
                let why = match why {
                    Unreached::NoInstance | Unreached::Closed => {
                        "the command ended before the instance answered".to_string()
                    }
                    Unreached::Refused(why) => why,
                };
                Err(if said.is_empty() {
                    why
                } else {
                    format!("{why}: {}", one_line(&said))
                })
            }
        }
    }

    fn start(
        mut writer: Box<dyn Write + Send>,
        reader: Box<dyn Read + Send>,
        hello: Hello,
        stderr: Option<Arc<Mutex<String>>>,
    ) -> std::result::Result<Client, Unreached> {
        let line = encode(&Up::Hello(hello))
            .ok_or_else(|| Unreached::Refused("cannot encode the hello".into()))?;
        writer
            .write_all(&line)
            .and_then(|()| writer.flush())
            .map_err(|_| Unreached::Closed)?;
        let (welcome_tx, welcome_rx) =
            std::sync::mpsc::channel::<std::result::Result<Welcome, String>>();
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            gone: Mutex::new(None),
            stderr: stderr.unwrap_or_default(),
        });
        let (notices_tx, notices) = mpsc::unbounded_channel();
        {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("api-client".into())
                .spawn(move || read_loop(reader, &shared, welcome_tx, notices_tx))
                .map_err(|e| Unreached::Refused(format!("cannot start a thread: {e}")))?;
        }
        let welcome = match welcome_rx.recv_timeout(WELCOME_WITHIN) {
            Ok(Ok(w)) => w,
            Ok(Err(why)) => return Err(Unreached::Refused(why)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Err(Unreached::Closed),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                return Err(Unreached::Refused(format!(
                    "the instance did not answer within {} s; is it stopped (Ctrl-Z) or overloaded?",
                    WELCOME_WITHIN.as_secs()
                )));
            }
        };
        if let Some(refused) = welcome.refused.clone() {
            return Err(Unreached::Refused(refused));
        }
        let logs = LogDir::new(welcome.home.join(".drover").join("logs"));
        Ok(Client {
            writer: Mutex::new(writer),
            shared,
            next_id: AtomicU64::new(1),
            welcome,
            notices: Mutex::new(Some(notices)),
            child: Mutex::new(None),
            logs,
        })
    }

    /// The instance's events and the connection's end, for one listener
    /// (None once taken).
    pub fn notices(&self) -> Option<mpsc::UnboundedReceiver<Notice>> {
        self.notices.lock().ok()?.take()
    }

    /// Why the connection ended, if it has.
    pub fn gone(&self) -> Option<String> {
        self.shared.gone.lock().ok()?.clone()
    }

    fn send(&self, call: Call, waiting: Waiting) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Some(why) = self.gone() {
            return waiting(Err(ApiError::Gone(why)));
        }
        if let Ok(mut p) = self.shared.pending.lock() {
            p.insert(id, waiting);
        }
        let Some(line) = encode(&Up::Call { id, call }) else {
            return self.fail(id, "cannot encode the call".into());
        };
        let written = match self.writer.lock() {
            Ok(mut w) => w.write_all(&line).and_then(|()| w.flush()),
            Err(_) => Err(std::io::Error::other("writer poisoned")),
        };
        if let Err(e) = written {
            self.shared.end(format!("cannot send to the instance: {e}"));
        }
    }

    fn fail(&self, id: u64, why: String) {
        let waiting = self
            .shared
            .pending
            .lock()
            .ok()
            .and_then(|mut p| p.remove(&id));
        if let Some(w) = waiting {
            w(Err(ApiError::Refused(why)));
        }
    }

    /// Asks and waits for the answer. Blocks the calling thread (inside a
    /// multi-threaded runtime, the runtime is told so).
    pub fn call<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        let within = if matches!(call, Call::Act(_)) {
            ACT_WITHIN
        } else {
            READ_WITHIN
        };
        let (tx, rx) = std::sync::mpsc::channel();
        self.send(
            call,
            Box::new(move |answer| {
                let _ = tx.send(answer);
            }),
        );
        let wait = || rx.recv_timeout(within);
        let waited = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        };
        let value = waited
            .map_err(|_| ApiError::Gone(format!("no answer within {} s", within.as_secs())))??;
        serde_json::from_value(value).map_err(|e| {
            ApiError::Refused(format!("an answer this drover does not understand: {e}"))
        })
    }

    /// Asks without blocking a thread.
    pub async fn ask<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(
            call,
            Box::new(move |answer| {
                let _ = tx.send(answer);
            }),
        );
        let value = rx
            .await
            .map_err(|_| ApiError::Gone("the connection ended".into()))??;
        serde_json::from_value(value).map_err(|e| {
            ApiError::Refused(format!("an answer this drover does not understand: {e}"))
        })
    }

    /// A try's files as they lie on this machine, under the instance's home.
    pub fn try_files(&self, flow: &str, run_id: &str, task: &str, try_number: u32) -> TryFiles {
        self.logs.try_files(flow, run_id, task, try_number)
    }

    pub fn home(&self) -> PathBuf {
        self.welcome.home.clone()
    }
}

/// Reads the instance's lines until the connection ends.
fn read_loop(
    reader: Box<dyn Read + Send>,
    shared: &Shared,
    welcome: std::sync::mpsc::Sender<std::result::Result<Welcome, String>>,
    notices: mpsc::UnboundedSender<Notice>,
) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    let mut welcomed = false;
    let why = loop {
        line.clear();
        match (&mut reader)
            .take(MAX_REPLY as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) => break "the instance closed the connection".to_string(),
            Err(e) => break format!("the connection broke: {e}"),
            Ok(_) if !line.ends_with(b"\n") => {
                break format!("an answer over {} MiB", MAX_REPLY >> 20);
            }
            Ok(_) => {}
        }
        let down = match serde_json::from_slice::<Down>(&line) {
            Ok(down) => down,
            Err(e) if !welcomed => {
                let _ = welcome.send(Err(format!(
                    "what answers is not a drover instance this drover understands ({e})"
                )));
                break "no instance".to_string();
            }
            Err(_) => continue,
        };
        match down {
            Down::Welcome(w) => {
                welcomed = true;
                let _ = welcome.send(Ok(w));
            }
            Down::Events(events) => {
                let _ = notices.send(Notice::Events(events));
            }
            Down::Resync(_) => {
                let _ = notices.send(Notice::Resync);
            }
            Down::Reply { id, ok, error } => {
                let waiting = shared.pending.lock().ok().and_then(|mut p| p.remove(&id));
                if let Some(w) = waiting {
                    w(match (ok, error) {
                        (_, Some(e)) => Err(ApiError::Refused(e)),
                        (Some(v), None) => Ok(v),
                        (None, None) => Ok(Value::Null),
                    });
                }
            }
        }
    };
    shared.end(why.clone());
    let _ = notices.send(Notice::Gone(
        shared
            .gone
            .lock()
            .ok()
            .and_then(|g| g.clone())
            .unwrap_or(why),
    ));
}

/// What a program said on several lines, as one line for a status bar.
fn one_line(said: &str) -> String {
    let lines: Vec<&str> = said
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    crate::escape::line(&lines.join("; ")).into_owned()
}

/// Keeps the last 4 KiB a stream says.
fn keep_tail(mut from: impl Read, into: &Mutex<String>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            return;
        }
        if let Ok(mut s) = into.lock() {
            s.push_str(&String::from_utf8_lossy(&buf[..n]));
            if s.len() > 4096 {
                let mut cut = s.len() - 4096;
                while !s.is_char_boundary(cut) {
                    cut += 1;
                }
                s.drain(..cut);
            }
        }
    }
}

fn encode(up: &Up) -> Option<Vec<u8>> {
    let mut line = serde_json::to_vec(up).ok()?;
    line.push(b'\n');
    Some(line)
}

/// Makes a new connection to the same instance.
pub type Dial = Box<dyn Fn() -> std::result::Result<Client, String> + Send + Sync>;

/// A client that dials again when its instance goes away and comes back,
/// and reads the flow files the instance sends into flows.
pub struct Link {
    current: RwLock<Arc<Client>>,
    dial: Dial,
    tx: mpsc::UnboundedSender<Notice>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Notice>>>,
    /// Flows read from the files sent, by id, version and timezone.
    flows: Mutex<HashMap<(String, String, String), Arc<Flow>>>,
    /// Answers fetched ahead (None: asked, not come yet), by call.
    fetched: Arc<Mutex<HashMap<String, Option<Value>>>>,
}

impl Link {
    /// Dials and subscribes to the instance's events.
    pub fn new(dial: Dial) -> std::result::Result<Link, String> {
        let client = dial()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let link = Link {
            current: RwLock::new(Arc::new(client)),
            dial,
            tx,
            rx: Mutex::new(Some(rx)),
            flows: Mutex::new(HashMap::new()),
            fetched: Arc::default(),
        };
        link.subscribe(link.client())?;
        Ok(link)
    }

    /// The connection in use.
    pub fn client(&self) -> Arc<Client> {
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn subscribe(&self, client: Arc<Client>) -> std::result::Result<(), String> {
        client
            .call::<bool>(Call::Subscribe)
            .map_err(|e| e.to_string())?;
        let Some(mut notices) = client.notices() else {
            return Ok(());
        };
        let tx = self.tx.clone();
        std::thread::Builder::new()
            .name("api-notices".into())
            .spawn(move || {
                while let Some(n) = notices.blocking_recv() {
                    if tx.send(n).is_err() {
                        return;
                    }
                }
            })
            .map(|_| ())
            .map_err(|e| format!("cannot start a thread: {e}"))
    }

    /// Connects again (the instance went away); on success the listener
    /// is told to read everything anew. Blocks: call it off the runtime.
    pub fn redial(&self) -> std::result::Result<(), String> {
        let client = Arc::new((self.dial)()?);
        self.subscribe(client.clone())?;
        match self.current.write() {
            Ok(mut c) => *c = client,
            Err(poisoned) => *poisoned.into_inner() = client,
        }
        let _ = self.tx.send(Notice::Resync);
        Ok(())
    }

    /// The answer to `call` if it has come, else None (asking for it in
    /// the background, once, and saying `Fetched` when it comes): a screen
    /// polling a log or moving over tries never waits for the link. An
    /// answer is handed out once: asking again asks anew; so is a failed
    /// ask.
    pub fn ahead<T: DeserializeOwned>(&self, call: Call) -> Option<T> {
        let key = serde_json::to_string(&call).ok()?;
        let mut fetched = self.fetched.lock().ok()?;
        match fetched.remove(&key) {
            Some(Some(value)) => return serde_json::from_value(value).ok(),
            Some(None) => {
                fetched.insert(key, None);
                return None;
            }
            None => {}
        }
        // Few asks are ever open at once; a screen that moves on leaves its
        // old ones, which are let go rather than kept.
        if fetched.len() > 64 {
            fetched.clear();
        }
        fetched.insert(key.clone(), None);
        let (store, tx) = (self.fetched.clone(), self.tx.clone());
        self.client().send(
            call,
            Box::new(move |answer| {
                let Ok(mut store) = store.lock() else { return };
                if !store.contains_key(&key) {
                    return;
                }
                match answer {
                    Ok(value) => {
                        store.insert(key, Some(value));
                        let _ = tx.send(Notice::Fetched);
                    }
                    // Not kept: the next ask asks again.
                    Err(_) => {
                        store.remove(&key);
                    }
                }
            }),
        );
        None
    }

    /// The events of every connection this link makes, and their ends.
    pub fn notices(&self) -> mpsc::UnboundedReceiver<Notice> {
        match self.rx.lock().ok().and_then(|mut r| r.take()) {
            Some(rx) => rx,
            None => mpsc::unbounded_channel().1,
        }
    }

    /// The instance's load and flows (read from the files it sent, with
    /// its settings), with the home's problems.
    pub async fn status(&self) -> Option<(crate::engine::Status, Problems)> {
        let status: super::Status = self.client().ask(Call::Status).await.ok()?;
        let flows = {
            let mut known = self.flows.lock().ok()?;
            read_flows_with(&status, &mut known)
        };
        Some((
            crate::engine::Status {
                running: status.running,
                queued: status.queued,
                parallelism: status.parallelism,
                pools: status.pools,
                flows,
                storage: status.storage,
            },
            status.problems,
        ))
    }
}

/// The flows an instance sent, read here with its settings.
pub fn read_flows(status: &super::Status) -> Vec<Arc<Flow>> {
    read_flows_with(status, &mut HashMap::new())
}

/// The same, reading only the versions `known` does not hold; `known`
/// then holds just the versions sent.
fn read_flows_with(
    status: &super::Status,
    known: &mut HashMap<(String, String, String), Arc<Flow>>,
) -> Vec<Arc<Flow>> {
    let pools: std::collections::BTreeMap<String, u32> = status
        .pools
        .iter()
        .map(|(name, _, size)| (name.clone(), *size))
        .collect();
    let mut flows = Vec::with_capacity(status.flows.len());
    for file in &status.flows {
        let key = (file.id.clone(), file.version.clone(), file.timezone.clone());
        if let Some(flow) = known.get(&key) {
            flows.push(flow.clone());
            continue;
        }
        let config = Config {
            timezone: file.timezone.parse().unwrap_or(chrono_tz::Tz::UTC),
            pools: pools.clone(),
            ..Config::default()
        };
        match crate::flow::parse_flow(&file.id, &file.path, &file.source, &config) {
            Ok(mut flow) => {
                flow.commit = file.commit.clone();
                let flow = Arc::new(flow);
                known.insert(key, flow.clone());
                flows.push(flow);
            }
            Err(errors) => log::warn!(
                "flow `{}` sent by the instance does not read here: {}",
                crate::escape::line(&file.id),
                errors
                    .first()
                    .map(|e| crate::escape::line(&e.to_string()).into_owned())
                    .unwrap_or_default()
            ),
        }
    }
    // Versions no longer sent are let go.
    let sent: std::collections::HashSet<(String, String, String)> = status
        .flows
        .iter()
        .map(|f| (f.id.clone(), f.version.clone(), f.timezone.clone()))
        .collect();
    known.retain(|k, _| sent.contains(k));
    flows
}
