//! The store: runs, task instances and tries in sled, durable before acted on.
//!
//! Trees and keys (flow ids and task ids never hold a NUL byte):
//! - `runs`:    `flow \0 time(8) seq(8)` → Run. `time` is the logical time in
//!   ms, sign-flipped big-endian, so a flow's runs sort oldest to newest and
//!   "latest N" is a reverse range scan.
//! - `run_ids`: `flow \0 run_id` → run key.
//! - `tis`:     `run key, task` → TaskInstance (a run's tasks are a prefix scan).
//! - `tries`:   `run key, task \0 try(4)` → Try (a task's tries are a prefix scan).
//! - `flows`:   `flow` → FlowState (pause state).
//! - `versions`: `flow \0 version` → the flow file's text at that version.
//! - `meta`:    `schema` → the schema version, checked on open.
//!
//! Every value is one schema-version byte followed by JSON. Nothing is
//! durable until `flush` returns; callers flush before acting on a change.

mod journal;
mod state;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::Transactional;

pub use state::{RunState, TaskState};

/// The schema this build writes. Bump it when a record's shape changes, and
/// keep a fixture store of each released schema under tests/fixtures.
pub const SCHEMA_VERSION: u8 = 1;

#[derive(Debug)]
pub enum StoreError {
    /// Another drover process has the store open (see `holder`).
    Locked(PathBuf),
    /// The store was written by a newer drover.
    Schema {
        path: PathBuf,
        found: u8,
    },
    /// A record could not be decoded.
    Corrupt {
        tree: &'static str,
        key: String,
        why: String,
    },
    RunExists {
        flow: String,
        run_id: String,
    },
    /// Reading or writing the store's files failed; `why` is in plain
    /// words ("the disk holding /x/.drover is full").
    Io {
        path: PathBuf,
        why: String,
    },
}

impl StoreError {
    /// Whether this is a failure to read or write the store's files (a
    /// full disk, a quota, an I/O error, a read-only file system): an
    /// operating condition to wait out, not a fault in the data.
    pub fn is_io(&self) -> bool {
        matches!(self, StoreError::Io { .. })
    }
}

/// An OS error on the store's files in plain words, naming the folder it
/// is about (`.drover`, which holds the store and its journal).
pub fn plain_io(dir: &Path, e: &std::io::Error) -> String {
    let at = dir.display();
    match e.raw_os_error() {
        Some(nix::libc::ENOSPC) => format!("the disk holding {at} is full"),
        Some(nix::libc::EDQUOT) => format!("the disk quota for {at} is used up"),
        Some(nix::libc::EROFS) => format!("{at} is on a read-only file system"),
        Some(nix::libc::EIO) => format!("the disk holding {at} reports an I/O error"),
        Some(nix::libc::EACCES | nix::libc::EPERM) => {
            format!("drover may not write to {at} (permission denied)")
        }
        _ => crate::home::describe(e),
    }
}

/// A sled error in plain words (see `plain_io`).
fn plain_sled(dir: &Path, e: &sled::Error) -> String {
    match e {
        sled::Error::Io(io) => plain_io(dir, io),
        other => other.to_string(),
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Locked(p) => match holder(p) {
                Some((pid, command)) => write!(
                    f,
                    "the store {} is in use by another drover process (pid {pid}: {command}); wait for it to finish",
                    p.display()
                ),
                None => write!(
                    f,
                    "the store {} is in use by another drover process",
                    p.display()
                ),
            },
            StoreError::Schema { path, found } => write!(
                f,
                "the store {} has schema version {found}, newer than this drover understands ({SCHEMA_VERSION}); upgrade drover",
                path.display()
            ),
            StoreError::Corrupt { tree, key, why } => {
                write!(f, "store record {tree}/{key} cannot be read: {why}")
            }
            StoreError::RunExists { flow, run_id } => {
                write!(f, "flow `{flow}` already has a run `{run_id}`")
            }
            StoreError::Io { path, why } => write!(f, "store {}: {why}", path.display()),
        }
    }
}

impl std::error::Error for StoreError {}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Why a run exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Scheduled,
    Manual,
    Backfill,
    Test,
}

impl RunKind {
    pub fn name(self) -> &'static str {
        match self {
            RunKind::Scheduled => "scheduled",
            RunKind::Manual => "manual",
            RunKind::Backfill => "backfill",
            RunKind::Test => "test",
        }
    }
}

/// sled's page cache.
const STORE_CACHE_BYTES: u64 = 8 * 1024 * 1024;

/// A store key of a run. Opaque outside the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RunKey(Vec<u8>);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub flow: String,
    pub id: String,
    pub kind: RunKind,
    pub logical: DateTime<Utc>,
    pub state: RunState,
    pub params: BTreeMap<String, String>,
    pub created: DateTime<Utc>,
    pub started: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
    /// The version of the flow file the run was made from (its text is
    /// kept in the store), so the run goes on with it when the file changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_version: Option<String>,
    /// The git commit the run's flow file came from (flows from git).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(skip)]
    pub key: RunKey,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInstance {
    pub task: String,
    pub state: TaskState,
    /// Tries started so far; the latest try's number.
    pub tries: u32,
    /// Tries allowed before the instance fails for good (retries + 1; a clear
    /// raises it so the cleared task gets its retries again).
    pub max_tries: u32,
    /// When an `up_for_retry` instance may be queued again.
    pub retry_at: Option<DateTime<Utc>>,
    pub updated: DateTime<Utc>,
    /// Why the instance is in its state when no try says so: "marked
    /// success by hand", "cleared", "interrupted before it started".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Try {
    pub number: u32,
    /// `running` while it runs, then `success`, `failed` or `skipped`.
    pub state: TaskState,
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Why it ended the way it did, in words ("timed out after 2h", ...).
    pub reason: Option<String>,
    pub pid: Option<u32>,
    pub outputs: BTreeMap<String, String>,
}

impl Try {
    /// Try `number`, running since `started`.
    pub fn started(number: u32, started: DateTime<Utc>) -> Try {
        Try {
            number,
            state: TaskState::Running,
            started,
            ended: None,
            exit_code: None,
            signal: None,
            reason: None,
            pid: None,
            outputs: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowState {
    pub paused: bool,
}

/// An open store. Clones share it (the engine and the control socket of a
/// running instance); it closes when the last clone goes.
#[derive(Clone)]
pub struct Store {
    path: PathBuf,
    /// sled's handles; replaced when sled is reopened after it refused a
    /// write (None only while that reopening fails).
    sled: Arc<RwLock<Option<Arc<Trees>>>>,
    /// Why sled takes no writes now, in words: after one write to disk
    /// failed, sled 0.34 refuses every later write (and flush) until it is
    /// opened again. Its in-memory trees still read as before.
    broken: Arc<Mutex<Option<String>>>,
    journal: Arc<Mutex<journal::Journal>>,
    _closer: Arc<Closer>,
}

/// One open sled database and its trees.
#[derive(Clone)]
struct Trees {
    db: sled::Db,
    runs: sled::Tree,
    run_ids: sled::Tree,
    tis: sled::Tree,
    tries: sled::Tree,
    flows: sled::Tree,
    versions: sled::Tree,
    meta: sled::Tree,
}

impl Trees {
    fn of(db: sled::Db) -> sled::Result<Trees> {
        Ok(Trees {
            runs: db.open_tree("runs")?,
            run_ids: db.open_tree("run_ids")?,
            tis: db.open_tree("tis")?,
            tries: db.open_tree("tries")?,
            flows: db.open_tree("flows")?,
            versions: db.open_tree("versions")?,
            meta: db.open_tree("meta")?,
            db,
        })
    }

    fn tree(&self, n: u8) -> Option<&sled::Tree> {
        match n {
            RUNS => Some(&self.runs),
            RUN_IDS => Some(&self.run_ids),
            TIS => Some(&self.tis),
            TRIES => Some(&self.tries),
            FLOWS => Some(&self.flows),
            VERSIONS => Some(&self.versions),
            _ => None,
        }
    }

    /// Applies journal records (changes committed after sled's last flush).
    fn replay(&self, records: Vec<journal::Record>) -> sled::Result<()> {
        for r in records {
            let Some(tree) = self.tree(r.tree) else {
                continue;
            };
            match r.value {
                Some(v) => tree.insert(r.key, v).map(|_| ())?,
                None => tree.remove(r.key).map(|_| ())?,
            }
        }
        Ok(())
    }
}

/// Closes the store when the last clone of it goes.
struct Closer {
    sled: Arc<RwLock<Option<Arc<Trees>>>>,
    journal: Arc<Mutex<journal::Journal>>,
    path: PathBuf,
}

impl Drop for Closer {
    /// A clean close folds the journal into sled (a crash leaves it to be
    /// replayed at the next open) and says the store is free again. When
    /// sled cannot be flushed (a full disk), the journal stays as it is and
    /// is replayed at the next open.
    fn drop(&mut self) {
        let trees = self.sled.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(trees) = trees {
            let _ = flush_all(&trees.db, &self.journal);
        }
        let _ = std::fs::remove_file(holder_path(&self.path));
    }
}

/// Flushes sled, then empties the journal it now holds.
fn flush_all(db: &sled::Db, journal: &Mutex<journal::Journal>) -> sled::Result<()> {
    // A panic while holding the lock leaves the journal consistent (records
    // are appended whole), so a poisoned lock is still usable.
    let mut journal = journal.lock().unwrap_or_else(|p| p.into_inner());
    db.flush()?;
    journal.reset().map_err(sled::Error::Io)
}

/// Free space below which sled is not reopened: opening writes a segment
/// and a snapshot, and a failed open leaves a snapshot stub behind.
const REOPEN_ROOM: u64 = 2 * 1024 * 1024;

/// Bytes free for drover on the file system holding `dir`, if known.
fn free_bytes(dir: &Path) -> Option<u64> {
    let st = nix::sys::statvfs::statvfs(dir).ok()?;
    Some(st.blocks_available().saturating_mul(st.fragment_size()))
}

/// Removes what a snapshot write cut short left behind. sled 0.34 writes a
/// snapshot to `snap.N.generating` and renames it when complete, but reads
/// the highest-named `snap.*` file at open, `.generating` ones included:
/// one left empty by a full disk makes every later open fail as "corrupted
/// data". A `.generating` file was never complete, so it holds nothing the
/// older snapshot and the log do not.
fn remove_snapshot_stubs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(std::result::Result::ok) {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Whether another open handle (another process's sled) has the lock on
/// the store's `db` file: then its snapshot files are its own business.
fn held_elsewhere(dir: &Path) -> bool {
    use nix::fcntl::{Flock, FlockArg};
    match std::fs::File::open(dir.join("db")) {
        Ok(file) => Flock::lock(file, FlockArg::LockExclusiveNonblock).is_err(),
        Err(_) => false,
    }
}

/// Opens sled at `dir`, waiting up to `wait` for another holder to let go.
fn open_sled(dir: &Path, wait: std::time::Duration) -> std::result::Result<sled::Db, OpenError> {
    if !held_elsewhere(dir) {
        remove_snapshot_stubs(dir);
    }
    let deadline = std::time::Instant::now() + wait;
    loop {
        // sled keeps every page it has read up to its cache size (1 GiB by
        // default); runs are read in small windows, so a small cache keeps
        // memory flat however many runs are stored. No periodic flush:
        // the journal makes commits durable, and sled is flushed when the
        // journal grows large and at close. (A periodic flush that fails on
        // a full disk would make sled refuse every write until reopened.)
        match sled::Config::new()
            .path(dir)
            .cache_capacity(STORE_CACHE_BYTES)
            .flush_every_ms(None)
            .open()
        {
            Ok(db) => return Ok(db),
            Err(e) if e.to_string().contains("could not acquire lock") => {
                if std::time::Instant::now() >= deadline {
                    return Err(OpenError::Locked);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(OpenError::Sled(e)),
        }
    }
}

enum OpenError {
    Locked,
    Sled(sled::Error),
}

/// `store.holder`: the pid and command line of the process that has the
/// store open, so others can say who, and tell when it is gone.
fn holder_path(store: &Path) -> PathBuf {
    store.with_extension("holder")
}

/// The process that has the store at `store` open: pid and command line.
pub fn holder(store: &Path) -> Option<(u32, String)> {
    let text = std::fs::read_to_string(holder_path(store)).ok()?;
    let (pid, command) = text.split_once('\n')?;
    Some((pid.trim().parse().ok()?, command.trim().to_string()))
}

/// How long `open` waits for another process to let go of the store.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// Journal tree numbers.
const RUNS: u8 = 0;
const RUN_IDS: u8 = 1;
const TIS: u8 = 2;
const TRIES: u8 = 3;
const FLOWS: u8 = 4;
const VERSIONS: u8 = 5;

/// Past this size the journal is folded into sled and emptied.
const JOURNAL_LIMIT: u64 = 8 * 1024 * 1024;

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![SCHEMA_VERSION];
    // Serialising these plain records to JSON cannot fail.
    serde_json::to_writer(&mut out, value).expect("records serialise");
    out
}

fn decode<T: DeserializeOwned>(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<T> {
    let corrupt = |why: String| StoreError::Corrupt {
        tree,
        key: String::from_utf8_lossy(key).replace('\0', "/"),
        why,
    };
    match bytes.split_first() {
        Some((&v, body)) if v <= SCHEMA_VERSION => {
            serde_json::from_slice(body).map_err(|e| corrupt(e.to_string()))
        }
        Some((&v, _)) => Err(corrupt(format!(
            "written by schema {v}, newer than {SCHEMA_VERSION}"
        ))),
        None => Err(corrupt("empty record".into())),
    }
}

fn time_bytes(t: DateTime<Utc>) -> [u8; 8] {
    ((t.timestamp_millis() as u64) ^ (1 << 63)).to_be_bytes()
}

fn prefix(flow: &str) -> Vec<u8> {
    let mut k = flow.as_bytes().to_vec();
    k.push(0);
    k
}

fn ti_key(run: &RunKey, task: &str) -> Vec<u8> {
    let mut k = run.0.clone();
    k.extend_from_slice(task.as_bytes());
    k
}

fn tries_prefix(run: &RunKey, task: &str) -> Vec<u8> {
    let mut k = ti_key(run, task);
    k.push(0);
    k
}

impl Store {
    /// Opens (or creates) the store in `dir`, waiting a little for another
    /// process to let go of it.
    pub fn open(dir: &Path) -> Result<Store> {
        Store::open_waiting(dir, LOCK_WAIT)
    }

    /// Opens the store, waiting up to `wait` while another process has it.
    pub fn open_waiting(dir: &Path, wait: std::time::Duration) -> Result<Store> {
        let state = dir.parent().unwrap_or(dir).to_path_buf();
        let io = |why: String| StoreError::Io {
            path: dir.to_path_buf(),
            why,
        };
        // `.drover` and what is in it are the owner's alone; a home made
        // by an older drover is put right here.
        if let Some(parent) = dir.parent() {
            crate::private::dir(parent).map_err(|e| io(plain_io(&state, &e)))?;
            let _ = std::fs::set_permissions(
                parent,
                std::os::unix::fs::PermissionsExt::from_mode(crate::private::DIR_MODE),
            );
        }
        // Commands that only read hold the store for milliseconds: wait a
        // little for one of them rather than fail at once.
        let db = match open_sled(dir, wait) {
            Ok(db) => db,
            Err(OpenError::Locked) => return Err(StoreError::Locked(dir.to_path_buf())),
            Err(OpenError::Sled(e)) => return Err(io(plain_sled(&state, &e))),
        };
        let trees = Trees::of(db).map_err(|e| io(plain_sled(&state, &e)))?;
        let command: Vec<String> = std::env::args()
            .enumerate()
            .map(|(i, a)| match i {
                0 => Path::new(&a)
                    .file_name()
                    .map_or(a.clone(), |n| n.to_string_lossy().into_owned()),
                _ => a,
            })
            .collect();
        // sled makes its files with the umask.
        let _ = crate::private::tighten(dir);
        let _ = crate::private::write(
            &holder_path(dir),
            format!("{}\n{}\n", std::process::id(), command.join(" ")).as_bytes(),
        );
        let (journal, records) = journal::Journal::open(&dir.with_extension("journal"))
            .map_err(|e| io(plain_io(&state, &e)))?;
        let journal = Arc::new(Mutex::new(journal));
        let meta = trees.meta.clone();
        let replay = !records.is_empty();
        trees
            .replay(records)
            .map_err(|e| io(plain_sled(&state, &e)))?;
        let sled = Arc::new(RwLock::new(Some(Arc::new(trees))));
        let store = Store {
            path: dir.to_path_buf(),
            _closer: Arc::new(Closer {
                sled: sled.clone(),
                journal: journal.clone(),
                path: dir.to_path_buf(),
            }),
            sled,
            broken: Arc::new(Mutex::new(None)),
            journal,
        };
        // Changes committed to the journal but not yet flushed into sled
        // when drover last stopped.
        if replay {
            store.flush()?;
        }
        match meta.get("schema").map_err(|e| store.err(&e))? {
            Some(v) if v.first().copied().unwrap_or(0) > SCHEMA_VERSION => {
                return Err(StoreError::Schema {
                    path: dir.to_path_buf(),
                    found: v[0],
                });
            }
            Some(_) => {}
            None => {
                meta.insert("schema", &[SCHEMA_VERSION])
                    .map_err(|e| store.err(&e))?;
                store.flush()?;
            }
        }
        Ok(store)
    }

    /// A store error from sled, in plain words.
    fn err(&self, e: &sled::Error) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            why: plain_sled(self.state_dir(), e),
        }
    }

    fn io_err(&self, e: &std::io::Error) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            why: plain_io(self.state_dir(), e),
        }
    }

    /// `.drover`, the folder holding the store and its journal.
    fn state_dir(&self) -> &Path {
        self.path.parent().unwrap_or(&self.path)
    }

    /// The home this store belongs to (`HOME/.drover/store`).
    pub fn home(&self) -> &Path {
        self.path
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."))
    }

    /// The current sled handles (cheap clones), or why there are none.
    fn t(&self) -> Result<Arc<Trees>> {
        let slot = self.sled.read().unwrap_or_else(|p| p.into_inner());
        match slot.as_ref() {
            Some(trees) => Ok(trees.clone()),
            None => Err(StoreError::Io {
                path: self.path.clone(),
                why: self
                    .broken()
                    .unwrap_or_else(|| "the store is being reopened".into()),
            }),
        }
    }

    fn journal(&self) -> MutexGuard<'_, journal::Journal> {
        // A panic while holding the lock leaves the journal consistent
        // (records are appended whole), so a poisoned lock is still usable.
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Why sled takes no writes now, if it does not.
    fn broken(&self) -> Option<String> {
        self.broken
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_broken(&self, why: Option<String>) {
        *self.broken.lock().unwrap_or_else(|p| p.into_inner()) = why;
    }

    /// Writes `value` under `key` in tree `n`: into the journal's next
    /// commit, and into sled. Should sled refuse it (it refuses every write
    /// once a write to disk failed), the change is still committed with
    /// the journal and sled gets it when reopened; `commit` then reports
    /// that the store cannot record until then.
    fn put(&self, n: u8, key: &[u8], value: &[u8]) -> Result<()> {
        let mut journal = self.journal();
        journal.put(n, key, value);
        let inserted = self.t().and_then(|t| {
            let tree = t
                .tree(n)
                .ok_or_else(|| self.io_err(&std::io::Error::other("unknown tree")))?;
            tree.insert(key, value)
                .map(|_| ())
                .map_err(|e| self.err(&e))
        });
        if let Err(e) = inserted {
            self.set_broken(Some(e.to_string()));
        }
        Ok(())
    }

    fn remove(&self, n: u8, key: &[u8]) -> Result<()> {
        let mut journal = self.journal();
        journal.remove(n, key);
        let removed = self.t().and_then(|t| {
            let tree = t
                .tree(n)
                .ok_or_else(|| self.io_err(&std::io::Error::other("unknown tree")))?;
            tree.remove(key).map(|_| ()).map_err(|e| self.err(&e))
        });
        if let Err(e) = removed {
            self.set_broken(Some(e.to_string()));
        }
        Ok(())
    }

    /// Makes every change so far durable: one write of the journal (synced
    /// to disk in the background). The engine commits before it acts on a
    /// change. Fails while the store cannot record (a full disk, a quota,
    /// an I/O error...): the changes are kept and the next commit tries
    /// again. sled, should it have refused writes, is reopened here once
    /// the journal could be written and the disk has room.
    pub fn commit(&self) -> Result<()> {
        let mut journal = self.journal();
        journal.commit().map_err(|e| self.io_err(&e))?;
        if self.broken().is_some() {
            self.reopen(&mut journal)?;
        }
        if journal.size() > JOURNAL_LIMIT {
            drop(journal);
            self.flush()?;
        }
        Ok(())
    }

    /// Opens sled anew after it refused a write, and gives it the journal
    /// (everything committed since its last flush). Not tried while the
    /// disk is nearly full (an open there fails, and reads keep working on
    /// the old handles meanwhile).
    fn reopen(&self, journal: &mut journal::Journal) -> Result<()> {
        let broken = self.broken().unwrap_or_default();
        if free_bytes(self.state_dir()).is_some_and(|free| free < REOPEN_ROOM) {
            return Err(StoreError::Io {
                path: self.path.clone(),
                why: broken,
            });
        }
        let records = journal.records().map_err(|e| self.io_err(&e))?;
        let mut slot = self.sled.write().unwrap_or_else(|p| p.into_inner());
        // sled holds a lock on its files until its last handle is gone: a
        // reader still using the old handles (a client's listing) makes it
        // wait for the next try, and reads go on meanwhile. With the slot
        // held for writing, no new reader can take them.
        if slot.as_ref().is_some_and(|t| Arc::strong_count(t) > 1) {
            return Err(StoreError::Io {
                path: self.path.clone(),
                why: broken,
            });
        }
        *slot = None;
        // One attempt, no waiting: this runs in the engine's turn, and a
        // failure is tried again at the next retry.
        let db = match open_sled(&self.path, std::time::Duration::ZERO) {
            Ok(db) => db,
            Err(OpenError::Locked) => {
                return Err(StoreError::Io {
                    path: self.path.clone(),
                    why: format!("{broken}; reopening the store: it is still locked"),
                });
            }
            Err(OpenError::Sled(e)) => return Err(self.err(&e)),
        };
        let trees = Trees::of(db).map_err(|e| self.err(&e))?;
        trees.replay(records).map_err(|e| self.err(&e))?;
        *slot = Some(Arc::new(trees));
        // sled makes its files with the umask.
        let _ = crate::private::tighten(&self.path);
        self.set_broken(None);
        Ok(())
    }

    /// Makes every change so far durable in sled itself and empties the journal.
    pub fn flush(&self) -> Result<()> {
        let t = self.t()?;
        flush_all(&t.db, &self.journal).map_err(|e| {
            let err = self.err(&e);
            self.set_broken(Some(err.to_string()));
            err
        })
    }

    /// Stores a new run with its task instances `pending`. Fails if the flow
    /// already has a run with this id. Sets `run.key`.
    pub fn create_run(&self, run: &mut Run, tasks: &[(String, u32)]) -> Result<()> {
        let t = self.t()?;
        let failed = |e: &sled::Error| {
            let err = self.err(e);
            self.set_broken(Some(err.to_string()));
            err
        };
        let seq = t.db.generate_id().map_err(|e| failed(&e))?;
        let mut key = prefix(&run.flow);
        key.extend_from_slice(&time_bytes(run.logical));
        key.extend_from_slice(&seq.to_be_bytes());
        run.key = RunKey(key);
        let mut id_key = prefix(&run.flow);
        id_key.extend_from_slice(run.id.as_bytes());
        let now = Utc::now();
        let tis: Vec<(Vec<u8>, Vec<u8>)> = tasks
            .iter()
            .map(|(task, max_tries)| {
                let ti = TaskInstance {
                    task: task.clone(),
                    state: TaskState::Pending,
                    tries: 0,
                    max_tries: *max_tries,
                    retry_at: None,
                    updated: now,
                    note: None,
                };
                (ti_key(&run.key, task), encode(&ti))
            })
            .collect();
        let value = encode(&*run);
        let mut journal = self.journal();
        let outcome = (&t.runs, &t.run_ids, &t.tis).transaction(|(runs, ids, tis_tree)| {
            if ids.get(&id_key)?.is_some() {
                return sled::transaction::abort(());
            }
            ids.insert(id_key.as_slice(), run.key.0.as_slice())?;
            runs.insert(run.key.0.as_slice(), value.as_slice())?;
            for (k, v) in &tis {
                tis_tree.insert(k.as_slice(), v.as_slice())?;
            }
            Ok(())
        });
        match outcome {
            Ok(()) => {
                journal.put(RUN_IDS, &id_key, &run.key.0);
                journal.put(RUNS, &run.key.0, &value);
                for (k, v) in &tis {
                    journal.put(TIS, k, v);
                }
                Ok(())
            }
            Err(sled::transaction::TransactionError::Abort(())) => Err(StoreError::RunExists {
                flow: run.flow.clone(),
                run_id: run.id.clone(),
            }),
            Err(sled::transaction::TransactionError::Storage(e)) => Err(failed(&e)),
        }
    }

    fn read_run(&self, key: &[u8], bytes: &[u8]) -> Result<Run> {
        let mut run: Run = decode("runs", key, bytes)?;
        run.key = RunKey(key.to_vec());
        Ok(run)
    }

    /// A run by its store key.
    pub fn run_by_key(&self, key: &RunKey) -> Result<Option<Run>> {
        match self.t()?.runs.get(&key.0).map_err(|e| self.err(&e))? {
            Some(bytes) => self.read_run(&key.0, &bytes).map(Some),
            None => Ok(None),
        }
    }

    pub fn run(&self, flow: &str, run_id: &str) -> Result<Option<Run>> {
        let mut id_key = prefix(flow);
        id_key.extend_from_slice(run_id.as_bytes());
        let Some(key) = self.t()?.run_ids.get(id_key).map_err(|e| self.err(&e))? else {
            return Ok(None);
        };
        match self.t()?.runs.get(&key).map_err(|e| self.err(&e))? {
            Some(bytes) => self.read_run(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The newest `n` runs of a flow by logical time, newest first.
    pub fn latest_runs(&self, flow: &str, n: usize) -> Result<Vec<Run>> {
        self.newest_first(self.t()?.runs.scan_prefix(prefix(flow)), n)
    }

    /// Up to `n` runs of a scan over the runs tree, from its end.
    fn newest_first(&self, scan: sled::Iter, n: usize) -> Result<Vec<Run>> {
        scan.rev()
            .take(n)
            .map(|item| {
                let (k, v) = item.map_err(|e| self.err(&e))?;
                self.read_run(&k, &v)
            })
            .collect()
    }

    /// Up to `n` runs of a flow older (by logical time) than the run with
    /// store key `before`, newest first: the next page when scrolling back.
    pub fn runs_before(&self, flow: &str, before: &RunKey, n: usize) -> Result<Vec<Run>> {
        self.newest_first(self.t()?.runs.range(prefix(flow)..before.0.clone()), n)
    }

    /// The newest run of a flow whose logical time is at or before `at`,
    /// with how many of the flow's runs are newer than it (its index in
    /// `latest_runs`).
    pub fn run_at_or_before(&self, flow: &str, at: DateTime<Utc>) -> Result<Option<(usize, Run)>> {
        let t = self.t()?;
        let start = prefix(flow);
        let mut end = start.clone();
        // Keys continue with the logical time: everything up to `at` (its
        // whole millisecond) sorts below the next millisecond's bytes.
        end.extend_from_slice(&time_bytes(at + chrono::Duration::milliseconds(1)));
        let Some(item) = t.runs.range(start..end.clone()).next_back() else {
            return Ok(None);
        };
        let (k, v) = item.map_err(|e| self.err(&e))?;
        let run = self.read_run(&k, &v)?;
        let mut after = k.to_vec();
        after.push(0);
        let mut flow_end = prefix(flow);
        if let Some(last) = flow_end.last_mut() {
            *last = 1;
        }
        let newer = t.runs.range(after..flow_end).keys().count();
        Ok(Some((newer, run)))
    }

    /// The run of a flow created last (whatever its logical date): what a
    /// person means by `latest` right after starting one.
    pub fn newest_run(&self, flow: &str) -> Result<Option<Run>> {
        let mut newest: Option<sled::IVec> = None;
        for key in self.t()?.runs.scan_prefix(prefix(flow)).keys() {
            let key = key.map_err(|e| self.err(&e))?;
            // The key ends with the run's creation sequence number.
            let seq = |k: &[u8]| k.get(k.len().saturating_sub(8)..).map(<[u8]>::to_vec);
            if newest.as_ref().is_none_or(|n| seq(&key) > seq(n)) {
                newest = Some(key);
            }
        }
        match newest {
            Some(key) => match self.t()?.runs.get(&key).map_err(|e| self.err(&e))? {
                Some(bytes) => self.read_run(&key, &bytes).map(Some),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// The logical time of a flow's newest run of `kind`.
    pub fn last_logical(&self, flow: &str, kind: RunKind) -> Result<Option<DateTime<Utc>>> {
        for item in self.t()?.runs.scan_prefix(prefix(flow)).rev() {
            let (k, v) = item.map_err(|e| self.err(&e))?;
            let run = self.read_run(&k, &v)?;
            if run.kind == kind {
                return Ok(Some(run.logical));
            }
        }
        Ok(None)
    }

    /// Every run of every flow that is not finished (for resuming at start).
    pub fn active_runs(&self) -> Result<Vec<Run>> {
        let mut out = Vec::new();
        for item in self.t()?.runs.iter() {
            let (k, v) = item.map_err(|e| self.err(&e))?;
            let run = self.read_run(&k, &v)?;
            if !run.state.is_done() {
                out.push(run);
            }
        }
        Ok(out)
    }

    pub fn put_run(&self, run: &Run) -> Result<()> {
        self.put(RUNS, &run.key.0, &encode(run))
    }

    /// A run's task instances, in key order (by task id).
    pub fn task_instances(&self, run: &Run) -> Result<Vec<TaskInstance>> {
        let keep = run.key.0.len();
        self.t()?
            .tis
            .scan_prefix(&run.key.0)
            .map(|item| {
                let (k, v) = item.map_err(|e| self.err(&e))?;
                debug_assert!(k.len() > keep);
                decode("tis", &k, &v)
            })
            .collect()
    }

    /// The task instances of several runs of one flow in one scan of the
    /// store: `runs` must be consecutive in `latest_runs` order (newest
    /// first), as a page of the Grid is. Returns each run's instances, in
    /// the order of `runs`.
    pub fn task_instances_of(&self, runs: &[Run]) -> Result<Vec<Vec<TaskInstance>>> {
        let (Some(newest), Some(oldest)) = (runs.first(), runs.last()) else {
            return Ok(Vec::new());
        };
        let mut end = newest.key.0.clone();
        end.push(0xff);
        let mut out: Vec<Vec<TaskInstance>> = vec![Vec::new(); runs.len()];
        // Oldest first in key order: walk the runs from the back.
        let mut at = runs.len() - 1;
        for item in self.t()?.tis.range(oldest.key.0.clone()..end) {
            let (k, v) = item.map_err(|e| self.err(&e))?;
            while !k.starts_with(&runs[at].key.0) {
                if at == 0 || k.as_ref() < runs[at - 1].key.0.as_slice() {
                    break;
                }
                at -= 1;
            }
            if k.starts_with(&runs[at].key.0) {
                out[at].push(decode("tis", &k, &v)?);
            }
        }
        Ok(out)
    }

    pub fn task_instance(&self, run: &Run, task: &str) -> Result<Option<TaskInstance>> {
        let key = ti_key(&run.key, task);
        match self.t()?.tis.get(&key).map_err(|e| self.err(&e))? {
            Some(v) => decode("tis", &key, &v).map(Some),
            None => Ok(None),
        }
    }

    pub fn put_task_instance(&self, run: &Run, ti: &TaskInstance) -> Result<()> {
        self.put(TIS, &ti_key(&run.key, &ti.task), &encode(ti))
    }

    pub fn put_try(&self, run: &Run, task: &str, t: &Try) -> Result<()> {
        let mut key = tries_prefix(&run.key, task);
        key.extend_from_slice(&t.number.to_be_bytes());
        self.put(TRIES, &key, &encode(t))
    }

    /// Deletes one try (one given back because it never started).
    pub fn remove_try(&self, run: &Run, task: &str, number: u32) -> Result<()> {
        let mut key = tries_prefix(&run.key, task);
        key.extend_from_slice(&number.to_be_bytes());
        self.remove(TRIES, &key)
    }

    /// A task's tries, oldest first.
    pub fn tries(&self, run: &Run, task: &str) -> Result<Vec<Try>> {
        self.t()?
            .tries
            .scan_prefix(tries_prefix(&run.key, task))
            .map(|item| {
                let (k, v) = item.map_err(|e| self.err(&e))?;
                decode("tries", &k, &v)
            })
            .collect()
    }

    pub fn flow_state(&self, flow: &str) -> Result<Option<FlowState>> {
        match self.t()?.flows.get(flow).map_err(|e| self.err(&e))? {
            Some(v) => decode("flows", flow.as_bytes(), &v).map(Some),
            None => Ok(None),
        }
    }

    pub fn put_flow_state(&self, flow: &str, state: &FlowState) -> Result<()> {
        self.put(FLOWS, flow.as_bytes(), &encode(state))
    }

    /// Deletes a run with its task instances and tries.
    pub fn delete_run(&self, run: &Run) -> Result<()> {
        let mut id_key = prefix(&run.flow);
        id_key.extend_from_slice(run.id.as_bytes());
        let t = self.t()?;
        for (n, tree) in [(TIS, &t.tis), (TRIES, &t.tries)] {
            let keys: Vec<sled::IVec> = tree
                .scan_prefix(&run.key.0)
                .keys()
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| self.err(&e))?;
            for k in keys {
                self.remove(n, &k)?;
            }
        }
        self.remove(RUN_IDS, &id_key)?;
        self.remove(RUNS, &run.key.0)
    }

    /// Deletes the oldest finished runs of a flow beyond the newest `keep`;
    /// returns them so their logs can go too. Unfinished runs are kept.
    pub fn prune(&self, flow: &str, keep: usize) -> Result<Vec<Run>> {
        let mut removed = Vec::new();
        for item in self.t()?.runs.scan_prefix(prefix(flow)).rev().skip(keep) {
            let (k, v) = item.map_err(|e| self.err(&e))?;
            let run = self.read_run(&k, &v)?;
            if run.state.is_done() {
                removed.push(run);
            }
        }
        for run in &removed {
            self.delete_run(run)?;
        }
        Ok(removed)
    }

    /// Clears task instances the Airflow way: each goes back to `pending`, its
    /// try counter continues and it gets its retries again (`retries` per
    /// task); earlier tries and their logs stay. A finished run runs again:
    /// `running` when `slot_free` (its flow has a free run slot under
    /// `max_active_runs`), else `queued` until the engine admits it; a
    /// queued run stays queued. Returns the cleared instances. The caller
    /// flushes.
    pub fn clear(
        &self,
        run: &mut Run,
        tasks: &[(String, u32)],
        slot_free: bool,
    ) -> Result<Vec<TaskInstance>> {
        let now = Utc::now();
        let mut cleared = Vec::new();
        for (task, retries) in tasks {
            let Some(mut ti) = self.task_instance(run, task)? else {
                continue;
            };
            ti.state = TaskState::Pending;
            ti.max_tries = ti.tries + retries + 1;
            ti.retry_at = None;
            ti.updated = now;
            ti.note = Some("cleared: runs again".into());
            self.put_task_instance(run, &ti)?;
            cleared.push(ti);
        }
        if !cleared.is_empty() && run.state.is_done() {
            run.state = if slot_free || run.kind == RunKind::Test {
                RunState::Running
            } else {
                RunState::Queued
            };
            run.ended = None;
            self.put_run(run)?;
        }
        Ok(cleared)
    }

    /// Sets a task instance's state by hand (`mark ... success|failed`) and
    /// brings the run's state in line. The caller flushes.
    pub fn mark(
        &self,
        run: &mut Run,
        task: &str,
        state: TaskState,
    ) -> Result<Option<TaskInstance>> {
        let Some(mut ti) = self.task_instance(run, task)? else {
            return Ok(None);
        };
        let now = Utc::now();
        ti.state = state;
        ti.retry_at = None;
        ti.updated = now;
        let note = format!("marked {state} by hand");
        ti.note = Some(note.clone());
        self.put_task_instance(run, &ti)?;
        // A try left running (its drover gone) ends with the mark.
        if let Some(mut last) = self.tries(run, task)?.pop()
            && last.state == TaskState::Running
        {
            last.state = state;
            last.ended = Some(now);
            last.reason = Some(note);
            self.put_try(run, task, &last)?;
        }
        let run_state = RunState::from_tasks(self.task_instances(run)?.iter().map(|t| t.state));
        if run_state != run.state {
            run.state = run_state;
            run.ended = run_state.is_done().then(Utc::now);
            self.put_run(run)?;
        }
        Ok(Some(ti))
    }

    /// Keeps a flow file's text under its version (once).
    pub fn put_flow_version(&self, flow: &str, version: &str, text: &str) -> Result<()> {
        let key = format!("{flow}\0{version}");
        if self
            .t()?
            .versions
            .contains_key(key.as_bytes())
            .map_err(|e| self.err(&e))?
        {
            return Ok(());
        }
        self.put(VERSIONS, key.as_bytes(), &encode(&text))
    }

    /// A flow file's text as it was at `version`.
    pub fn flow_version(&self, flow: &str, version: &str) -> Result<Option<String>> {
        let key = format!("{flow}\0{version}");
        match self
            .t()?
            .versions
            .get(key.as_bytes())
            .map_err(|e| self.err(&e))?
        {
            Some(v) => decode("versions", key.as_bytes(), &v).map(Some),
            None => Ok(None),
        }
    }

    /// How many runs a flow has (a key-only scan).
    pub fn run_count(&self, flow: &str) -> usize {
        self.t()
            .map_or(0, |t| t.runs.scan_prefix(prefix(flow)).keys().count())
    }

    /// How many of a flow's runs are `running` (what `max_active_runs`
    /// counts; test runs are not held to it and are not counted).
    pub fn running_runs(&self, flow: &str) -> Result<usize> {
        let mut n = 0;
        for item in self.t()?.runs.scan_prefix(prefix(flow)) {
            let (k, v) = item.map_err(|e| self.err(&e))?;
            let run = self.read_run(&k, &v)?;
            if run.state == RunState::Running && run.kind != RunKind::Test {
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(flow: &str, id: &str, logical: &str) -> Run {
        Run {
            flow: flow.into(),
            id: id.into(),
            kind: RunKind::Manual,
            logical: logical.parse().unwrap(),
            state: RunState::Running,
            params: BTreeMap::new(),
            created: Utc::now(),
            started: None,
            ended: None,
            flow_version: None,
            commit: None,
            key: RunKey::default(),
        }
    }

    #[test]
    fn runs_scan_newest_first_per_flow() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        for (id, t) in [
            ("b", "2026-01-02T00:00:00Z"),
            ("a", "2026-01-01T00:00:00Z"),
            ("old", "1969-12-31T00:00:00Z"),
        ] {
            store
                .create_run(&mut run("f", id, t), &[("t".into(), 1)])
                .unwrap();
        }
        // A flow whose id is a prefix of another must not see its runs.
        store
            .create_run(&mut run("f2", "x", "2030-01-01T00:00:00Z"), &[])
            .unwrap();
        let ids: Vec<String> = store
            .latest_runs("f", 10)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["b", "a", "old"]);
        assert_eq!(store.latest_runs("f", 1).unwrap()[0].id, "b");
        let dup = store.create_run(&mut run("f", "a", "2026-05-01T00:00:00Z"), &[]);
        assert!(matches!(dup, Err(StoreError::RunExists { .. })));
        assert_eq!(store.run_count("f"), 3);
    }

    #[test]
    fn task_instances_and_tries_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let mut r = run("f", "r1", "2026-01-01T00:00:00Z");
        store
            .create_run(&mut r, &[("a".into(), 1), ("ab".into(), 3)])
            .unwrap();
        let tis = store.task_instances(&r).unwrap();
        assert_eq!(tis.len(), 2);
        assert_eq!(tis[1].max_tries, 3);
        for n in 1..=2 {
            let t = Try {
                number: n,
                state: TaskState::Failed,
                started: Utc::now(),
                ended: None,
                exit_code: Some(1),
                signal: None,
                reason: None,
                pid: Some(42),
                outputs: BTreeMap::new(),
            };
            store.put_try(&r, "a", &t).unwrap();
        }
        // Tries of `a` must not include those of `ab`.
        store
            .put_try(
                &r,
                "ab",
                &Try {
                    number: 1,
                    ..store.tries(&r, "a").unwrap()[0].clone()
                },
            )
            .unwrap();
        let numbers: Vec<u32> = store
            .tries(&r, "a")
            .unwrap()
            .iter()
            .map(|t| t.number)
            .collect();
        assert_eq!(numbers, [1, 2]);
        store.flush().unwrap();
        drop(store);
        let store = Store::open(&dir.path().join("store")).unwrap();
        let r = store.run("f", "r1").unwrap().unwrap();
        assert_eq!(store.tries(&r, "a").unwrap().len(), 2);
        store.delete_run(&r).unwrap();
        assert!(store.run("f", "r1").unwrap().is_none());
        assert!(store.tries(&r, "a").unwrap().is_empty());
    }

    #[test]
    fn prune_keeps_the_newest_and_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        for day in 1..=5 {
            let mut r = run(
                "f",
                &format!("r{day}"),
                &format!("2026-01-0{day}T00:00:00Z"),
            );
            r.state = if day == 1 {
                RunState::Running
            } else {
                RunState::Success
            };
            store.create_run(&mut r, &[]).unwrap();
        }
        let removed: Vec<String> = store
            .prune("f", 2)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(removed, ["r3", "r2"]);
        let left: Vec<String> = store
            .latest_runs("f", 10)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(left, ["r5", "r4", "r1"]);
    }

    /// A 20 MB tmpfs, unmounted when dropped; None (the test is skipped,
    /// saying why) unless this runs as root and the mount works.
    struct Tmpfs(tempfile::TempDir);

    impl Tmpfs {
        fn new() -> Option<Tmpfs> {
            if !nix::unistd::geteuid().is_root() {
                eprintln!("skipped: mounting a tmpfs needs root");
                return None;
            }
            let dir = tempfile::tempdir().unwrap();
            let status = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=20m", "tmpfs"])
                .arg(dir.path())
                .status();
            match status {
                Ok(s) if s.success() => Some(Tmpfs(dir)),
                other => {
                    eprintln!("skipped: cannot mount a tmpfs: {other:?}");
                    None
                }
            }
        }

        /// Fills the file system with `filler` until a write fails.
        fn fill(&self) {
            use std::io::Write;
            let mut f = std::fs::File::create(self.0.path().join("filler")).unwrap();
            for size in [1 << 16, 512, 1] {
                let block = vec![7u8; size];
                while f.write_all(&block).is_ok() {}
            }
        }

        fn free(&self) {
            std::fs::remove_file(self.0.path().join("filler")).unwrap();
        }
    }

    impl Drop for Tmpfs {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(self.0.path())
                .status();
        }
    }

    #[test]
    fn a_full_disk_holds_changes_until_there_is_room_again() {
        let Some(disk) = Tmpfs::new() else { return };
        let path = disk.0.path().join(".drover").join("store");
        let store = Store::open(&path).unwrap();
        let mut r = run("f", "r1", "2026-01-01T00:00:00Z");
        store.create_run(&mut r, &[("a".into(), 1)]).unwrap();
        store.commit().unwrap();
        store.flush().unwrap();
        disk.fill();
        r.params.insert("first".into(), "x".repeat(3000));
        store.put_run(&r).unwrap();
        let e = store.commit().unwrap_err();
        assert!(e.is_io(), "{e}");
        assert!(e.to_string().contains("is full"), "{e}");
        // A failed flush makes sled refuse every later write: the change
        // after it is held by the journal alone.
        assert!(store.flush().is_err());
        r.params.insert("second".into(), "2".into());
        store.put_run(&r).unwrap();
        assert!(store.commit().is_err(), "committed on a full disk");
        assert!(
            store
                .create_run(&mut run("f", "r2", "2026-01-02T00:00:00Z"), &[])
                .is_err()
        );
        let read = store.run("f", "r1").unwrap().unwrap();
        assert!(
            read.params.contains_key("first"),
            "sled still reads what it took"
        );
        disk.free();
        store.commit().unwrap();
        let read = store.run("f", "r1").unwrap().unwrap();
        assert_eq!(read.params, r.params, "reopened sled has every change");
        store
            .create_run(&mut run("f", "r2", "2026-01-02T00:00:00Z"), &[])
            .unwrap();
        store.commit().unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.run("f", "r1").unwrap().unwrap().params, r.params);
        assert!(store.run("f", "r2").unwrap().is_some());
        drop(store);
        // On a full disk the store opens for reading (sled writes nothing
        // at open without its periodic flush) and cannot commit; were the
        // open to fail, it says why plainly. Either way the store is as it was.
        disk.fill();
        match Store::open(&path) {
            Ok(store) => {
                assert_eq!(store.run("f", "r1").unwrap().unwrap().params, r.params);
                store.put_run(&r).unwrap();
                assert!(store.commit().unwrap_err().to_string().contains("is full"));
            }
            Err(e) => assert!(e.to_string().contains("is full"), "{e}"),
        }
        disk.free();
        let store = Store::open(&path).unwrap();
        assert_eq!(store.run("f", "r1").unwrap().unwrap().params, r.params);
    }
}
