//! Task logs: one file per try, with arrival times kept beside it.
//!
//! Layout under `.drover/logs/`: `FLOW/RUN/TASK.TRY.log` holds the try's
//! stdout and stderr, interleaved in the order written, as bytes; `TRY.idx`
//! holds a 16-byte record per chunk read from the pipe (byte offset, arrival
//! time in ms, both little-endian), so every line has the arrival time of the
//! chunk it started in, without stamping the text itself; `TRY.out` is the
//! task's `$DROVER_OUTPUT` file; `TRY.end` appears when the try's outcome is
//! recorded, so a follower knows no more output will come. `TRY.start` is
//! the supervisor's start record (see `engine::shim`), renamed to `TRY.end`
//! once it holds the outcome; `TRY.unrecorded` is that record when the
//! supervisor could not write the outcome into it.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

/// Where a home's logs live.
#[derive(Debug, Clone)]
pub struct LogDir {
    root: PathBuf,
}

/// The files of one try.
#[derive(Debug, Clone)]
pub struct TryFiles {
    pub log: PathBuf,
    pub index: PathBuf,
    pub output: PathBuf,
    /// Written once the try's outcome is recorded: its state, in words.
    pub end: PathBuf,
    /// The supervisor's start record, written before it starts the task.
    pub start: PathBuf,
    /// The start record, renamed so when the outcome could not be written.
    pub unrecorded: PathBuf,
}

impl TryFiles {
    /// The files `PREFIX.log`, `.idx`, `.out`, `.end`, ... of the try whose
    /// path without extension is `prefix`.
    pub fn at(prefix: &Path) -> TryFiles {
        let file = |ext: &str| {
            let mut p = prefix.as_os_str().to_owned();
            p.push(".");
            p.push(ext);
            PathBuf::from(p)
        };
        TryFiles {
            log: file("log"),
            index: file("idx"),
            output: file("out"),
            end: file("end"),
            start: file("start"),
            unrecorded: file("unrecorded"),
        }
    }

    /// The path without extension, as `at` takes it.
    pub fn prefix(&self) -> PathBuf {
        self.log.with_extension("")
    }
}

impl LogDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LogDir { root: root.into() }
    }

    pub fn run_dir(&self, flow: &str, run_id: &str) -> PathBuf {
        self.root.join(flow).join(sanitize(run_id))
    }

    /// A run's files sit together in its folder (task ids hold no `.`), so a
    /// try costs no folder of its own.
    pub fn try_files(&self, flow: &str, run_id: &str, task: &str, try_number: u32) -> TryFiles {
        TryFiles::at(
            &self
                .run_dir(flow, run_id)
                .join(format!("{task}.{try_number}")),
        )
    }

    /// Removes a run's logs (after the run is pruned from the store).
    pub fn remove_run(&self, flow: &str, run_id: &str) -> io::Result<()> {
        match fs::remove_dir_all(self.run_dir(flow, run_id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Run ids hold `:` and `+`, fine on Unix; only `/` and NUL must go.
fn sanitize(run_id: &str) -> String {
    run_id.replace(['/', '\0'], "_")
}

/// Appends to a try's log and index. Both files are created when the first
/// output arrives: a task that prints nothing costs no files (creating files
/// is much of the per-task cost on some file systems).
pub struct LogWriter {
    files: TryFiles,
    /// The log and its index, once opened.
    open: Option<(File, File)>,
    written: u64,
    /// The last byte written, to start notes on a line of their own.
    last: u8,
    /// The first write error; later writes are skipped but the pipe is still drained.
    pub error: Option<String>,
}

impl LogWriter {
    /// A writer for a try's files, appending to what they already hold.
    /// Creates the run's folder.
    pub fn create(files: &TryFiles) -> io::Result<LogWriter> {
        if let Some(dir) = files.log.parent() {
            crate::private::dir(dir)?;
        }
        let mut last = [b'\n'];
        let written = match File::open(&files.log) {
            Ok(mut f) => {
                let len = f.metadata()?.len();
                if len > 0 {
                    f.seek(SeekFrom::End(-1))?;
                    f.read_exact(&mut last)?;
                }
                len
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        Ok(LogWriter {
            files: files.clone(),
            open: None,
            written,
            last: last[0],
            error: None,
        })
    }

    /// Writes a chunk that arrived at `at`.
    pub fn chunk(&mut self, bytes: &[u8], at: DateTime<Utc>) {
        if self.error.is_some() || bytes.is_empty() {
            return;
        }
        let mut record = [0u8; 16];
        record[..8].copy_from_slice(&self.written.to_le_bytes());
        record[8..].copy_from_slice(&at.timestamp_millis().to_le_bytes());
        if self.open.is_none() {
            let append = |p: &Path| crate::private::append(p);
            match append(&self.files.log).and_then(|log| Ok((log, append(&self.files.index)?))) {
                Ok(files) => self.open = Some(files),
                Err(e) => {
                    self.error = Some(format!(
                        "writing the log failed: {}",
                        crate::home::describe(&e)
                    ));
                    return;
                }
            }
        }
        let Some((log, index)) = self.open.as_mut() else {
            return;
        };
        let result = log.write_all(bytes).and_then(|()| index.write_all(&record));
        match result {
            Ok(()) => {
                self.written += bytes.len() as u64;
                self.last = bytes[bytes.len() - 1];
            }
            Err(e) => {
                self.error = Some(format!(
                    "writing the log failed: {}",
                    crate::home::describe(&e)
                ))
            }
        }
    }

    /// A line from drover itself (why a try could not start, a timeout...),
    /// marked so it is not mistaken for the task's output.
    pub fn note(&mut self, text: &str) {
        let needs_newline = self.last != b'\n';
        let line = format!("{}[drover] {text}\n", if needs_newline { "\n" } else { "" });
        self.chunk(line.as_bytes(), Utc::now());
    }

    pub fn bytes_written(&self) -> u64 {
        self.written
    }
}

/// Appends a drover note to a try's log, creating it if needed.
pub fn append_note(files: &TryFiles, text: &str) -> io::Result<()> {
    let mut w = LogWriter::create(files)?;
    w.note(text);
    match w.error {
        Some(e) => Err(io::Error::other(e)),
        None => Ok(()),
    }
}

/// Marks a try as ended when its supervisor could not: `summary` says how.
/// (Normally the supervisor writes the end file with the try's outcome.) A
/// try without a log has no followers to tell: no file is made for it.
pub fn mark_ended(files: &TryFiles, summary: &str) -> io::Result<()> {
    if files.end.exists() || !files.log.exists() {
        return Ok(());
    }
    crate::private::write(&files.end, format!("{summary}\n").as_bytes())
}

/// Reads a log from `offset`: the bytes there and the offset after them.
pub fn read_from(path: &Path, offset: u64) -> io::Result<(Vec<u8>, u64)> {
    let mut f = File::open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    let end = offset + buf.len() as u64;
    Ok((buf, end))
}

/// Copies a log from `offset` to `out` in chunks (a huge log is never held
/// whole); returns the offset after what was copied.
pub fn copy_from(path: &Path, offset: u64, out: &mut impl Write) -> io::Result<u64> {
    let mut f = File::open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    let copied = io::copy(&mut f, out)?;
    out.flush()?;
    Ok(offset + copied)
}

/// When each chunk of a log arrived: (byte offset where it starts, time),
/// from the log's index; empty when there is none.
pub fn chunk_times(files: &TryFiles) -> io::Result<Vec<(u64, DateTime<Utc>)>> {
    let index = match fs::read(&files.index) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        other => other?,
    };
    Ok(index
        .chunks_exact(16)
        .map(|r| {
            let off = u64::from_le_bytes(r[..8].try_into().unwrap_or_default());
            let ms = i64::from_le_bytes(r[8..].try_into().unwrap_or_default());
            (off, DateTime::from_timestamp_millis(ms).unwrap_or_default())
        })
        .collect())
}

/// Arrival time of every line of a log: (byte offset of the line, time).
pub fn line_times(files: &TryFiles) -> io::Result<Vec<(u64, DateTime<Utc>)>> {
    let chunks = chunk_times(files)?;
    let text = fs::read(&files.log)?;
    let mut out = Vec::new();
    let mut chunk = 0;
    let mut start = 0usize;
    while start < text.len() {
        while chunk + 1 < chunks.len() && chunks[chunk + 1].0 <= start as u64 {
            chunk += 1;
        }
        out.push((
            start as u64,
            chunks.get(chunk).map_or_else(DateTime::default, |c| c.1),
        ));
        start = match text[start..].iter().position(|&b| b == b'\n') {
            Some(i) => start + i + 1,
            None => text.len(),
        };
    }
    Ok(out)
}

/// Copies a pipe into a log until EOF; returns the writer (with any error).
pub fn capture(mut reader: impl Read, mut writer: LogWriter) -> LogWriter {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return writer,
            Ok(n) => writer.chunk(&buf[..n], Utc::now()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                writer.note(&format!("reading the task's output failed: {e}"));
                return writer;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_get_the_time_of_their_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogDir::new(dir.path());
        let files = logs.try_files("f", "manual__2026-01-01T00:00:00Z", "t", 1);
        let mut w = LogWriter::create(&files).unwrap();
        let t1 = DateTime::from_timestamp_millis(1_000).unwrap();
        let t2 = DateTime::from_timestamp_millis(2_000).unwrap();
        w.chunk(b"one\ntwo\nthr", t1);
        w.chunk(b"ee\nfour\n", t2);
        w.note("stopped");
        let times = line_times(&files).unwrap();
        let offsets: Vec<u64> = times.iter().map(|t| t.0).collect();
        assert_eq!(offsets, [0, 4, 8, 14, 19]);
        assert_eq!(
            times[2].1, t1,
            "a line split across chunks keeps its first chunk's time"
        );
        assert_eq!(times[3].1, t2);
        let (text, end) = read_from(&files.log, 0).unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "one\ntwo\nthree\nfour\n[drover] stopped\n"
        );
        assert_eq!(read_from(&files.log, end).unwrap().0, b"");
    }

    #[test]
    fn a_note_starts_on_its_own_line() {
        let dir = tempfile::tempdir().unwrap();
        let files = LogDir::new(dir.path()).try_files("f", "r", "t", 2);
        let mut w = LogWriter::create(&files).unwrap();
        w.chunk(b"partial", Utc::now());
        w.note("timed out");
        let (text, _) = read_from(&files.log, 0).unwrap();
        assert_eq!(text, b"partial\n[drover] timed out\n");
    }
}
