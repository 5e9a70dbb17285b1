//! A write-ahead journal in front of sled, for cheap durable commits.
//!
//! sled 0.34 makes a change durable only with a full flush, which hands the
//! write to its thread pool and wakes every idle pool thread: about 0.17 ms
//! and a burst of context switches per commit. The engine commits once per
//! scheduling pass, so that cost lands on every task. Instead, each change
//! goes into sled (in memory) *and* into this journal. A commit is one
//! `write` of the journal: from then on the change survives drover being
//! killed (the kernel holds it). A background thread then `fdatasync`s the
//! journal within a few milliseconds, so it also survives a power loss a
//! moment later; as the journal
//! is written in order, a power loss can only cut off its newest records,
//! leaving the state of one earlier instant (and the tasks started after
//! it died with the machine). sled is flushed, and the journal emptied,
//! when the journal grows large, on a full `flush`, and when the store is
//! opened (after replaying what the journal holds).
//!
//! Record: tree (1 byte), op (1: 0 put, 1 remove), key length and value
//! length (u32 LE each), key, value, then an FNV-1a hash of all that (u64
//! LE). Replay stops at the first incomplete or damaged record: a commit
//! torn by a crash never returned, so nothing acted on it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::Path;

/// A change read back from the journal.
pub struct Record {
    pub tree: u8,
    pub key: Vec<u8>,
    /// `None` for a removal.
    pub value: Option<Vec<u8>>,
}

pub struct Journal {
    file: File,
    /// Records not yet written.
    pending: Vec<u8>,
    /// Bytes in the file.
    size: u64,
    /// Wakes the thread that syncs the file to disk.
    syncer: std::sync::mpsc::Sender<()>,
    /// The first error the syncer met, reported by the next commit.
    sync_error: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

/// At most this often the syncer wakes, so a burst of commits costs one sync.
const SYNC_INTERVAL: std::time::Duration = std::time::Duration::from_millis(5);

/// Syncs the journal to disk whenever woken, at most every `SYNC_INTERVAL`,
/// coalescing the wake-ups that arrive meanwhile. Ends when the journal is
/// dropped.
fn start_syncer(
    file: File,
    error: std::sync::Arc<std::sync::Mutex<Option<String>>>,
) -> std::sync::mpsc::Sender<()> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    // Should the thread fail to start, `rx` is dropped with it, sends fail,
    // and `commit` syncs inline instead.
    let _ = std::thread::Builder::new()
        .name("journal-sync".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                std::thread::sleep(SYNC_INTERVAL);
                while rx.try_recv().is_ok() {}
                if let Err(e) = file.sync_data()
                    && let Ok(mut slot) = error.lock()
                {
                    slot.get_or_insert(e.to_string());
                }
            }
        });
    tx
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Journal {
    /// Opens the journal and reads back the records it holds.
    pub fn open(path: &Path) -> io::Result<(Journal, Vec<Record>)> {
        let mut file = crate::private::open(
            OpenOptions::new().read(true).append(true).create(true),
            path,
        )?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let records = parse(&bytes);
        let size = file.seek(io::SeekFrom::End(0))?;
        let sync_error = std::sync::Arc::new(std::sync::Mutex::new(None));
        let syncer = start_syncer(file.try_clone()?, sync_error.clone());
        Ok((
            Journal {
                file,
                pending: Vec::new(),
                size,
                syncer,
                sync_error,
            },
            records,
        ))
    }

    fn record(&mut self, tree: u8, key: &[u8], value: Option<&[u8]>) {
        let start = self.pending.len();
        self.pending.push(tree);
        self.pending.push(u8::from(value.is_none()));
        self.pending
            .extend_from_slice(&(key.len() as u32).to_le_bytes());
        let value = value.unwrap_or_default();
        self.pending
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.pending.extend_from_slice(key);
        self.pending.extend_from_slice(value);
        let hash = fnv1a(&self.pending[start..]);
        self.pending.extend_from_slice(&hash.to_le_bytes());
    }

    pub fn put(&mut self, tree: u8, key: &[u8], value: &[u8]) {
        self.record(tree, key, Some(value));
    }

    pub fn remove(&mut self, tree: u8, key: &[u8]) {
        self.record(tree, key, None);
    }

    /// Writes the pending records (durable against drover's own death once
    /// this returns) and has them synced to disk in the background.
    pub fn commit(&mut self) -> io::Result<()> {
        if let Some(e) = self.sync_error.lock().ok().and_then(|mut slot| slot.take()) {
            return Err(io::Error::other(format!("syncing the journal failed: {e}")));
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.file.write_all(&self.pending) {
            // A write cut short (a full disk) may leave part of a record:
            // cut it off, so the records written later are not hidden
            // behind it at replay. The records stay pending for the next
            // commit. (Shrinking a file needs no space.)
            let _ = self.file.set_len(self.size);
            return Err(e);
        }
        self.size += self.pending.len() as u64;
        self.pending.clear();
        if self.syncer.send(()).is_err() {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// Every record the journal holds: those written, then those pending.
    pub fn records(&self) -> io::Result<Vec<Record>> {
        use std::os::unix::fs::FileExt;
        let mut bytes = vec![0u8; usize::try_from(self.size).unwrap_or(usize::MAX)];
        self.file.read_exact_at(&mut bytes, 0)?;
        let mut records = parse(&bytes);
        records.extend(parse(&self.pending));
        Ok(records)
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Empties the journal, once sled holds everything durably.
    pub fn reset(&mut self) -> io::Result<()> {
        self.pending.clear();
        if self.size > 0 {
            self.file.set_len(0)?;
            self.file.sync_data()?;
            self.size = 0;
        }
        Ok(())
    }
}

/// The complete, undamaged records at the start of `bytes`.
fn parse(bytes: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    let mut at = 0;
    while bytes.len() - at >= 10 {
        let head = &bytes[at..at + 10];
        let (tree, op) = (head[0], head[1]);
        let klen = u32::from_le_bytes([head[2], head[3], head[4], head[5]]) as usize;
        let vlen = u32::from_le_bytes([head[6], head[7], head[8], head[9]]) as usize;
        let body = at + 10;
        let end = body + klen + vlen;
        if end + 8 > bytes.len() || op > 1 {
            break;
        }
        let hash = u64::from_le_bytes(bytes[end..end + 8].try_into().unwrap_or_default());
        if hash != fnv1a(&bytes[at..end]) {
            break;
        }
        out.push(Record {
            tree,
            key: bytes[body..body + klen].to_vec(),
            value: (op == 0).then(|| bytes[body + klen..end].to_vec()),
        });
        at = end + 8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopening_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (mut j, records) = Journal::open(&path).unwrap();
        assert!(records.is_empty());
        j.put(1, b"k1", b"v1");
        j.remove(2, b"k2");
        j.commit().unwrap();
        j.put(3, b"k3", b"never committed");
        drop(j);
        // A torn write: half a record at the end.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[1, 0, 9, 0, 0, 0, 9]).unwrap();
        drop(f);
        let (mut j, records) = Journal::open(&path).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            (
                records[0].tree,
                &records[0].key[..],
                records[0].value.as_deref()
            ),
            (1, &b"k1"[..], Some(&b"v1"[..]))
        );
        assert_eq!((records[1].tree, records[1].value.is_none()), (2, true));
        j.reset().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }

    #[test]
    fn a_damaged_record_stops_the_replay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (mut j, _) = Journal::open(&path).unwrap();
        j.put(0, b"a", b"1");
        j.put(0, b"b", b"2");
        j.commit().unwrap();
        drop(j);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 10;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        let (_, records) = Journal::open(&path).unwrap();
        assert_eq!(records.len(), 1);
    }
}
