//! Flows deployed from git: fetch a branch into `.drover/git/repo` (a bare
//! repository of drover's own), and write the flow files of its tip that
//! validate into `.drover/git/flows/`, where drover loads them from.
//!
//! A file that does not validate at the new commit never replaces its last
//! good version; its error (with the commit and `path:line:col`) is kept in
//! `.drover/git/state.json` for `list` and the TUI. Force pushes and
//! rewritten history are taken as they come: the branch tip is the truth.
//!
//! May call: git2, `flow` (to validate), the file system. Nothing else.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::flow::{Config, Diagnostic, GitConfig};

/// Flow files larger than this are refused, as they are on disk.
const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// `.drover/git` of a home.
pub fn git_dir(root: &Path) -> PathBuf {
    root.join(".drover").join("git")
}

/// Where the good flow files of the deployed commit are.
pub fn flows_dir(root: &Path) -> PathBuf {
    git_dir(root).join("flows")
}

/// The whole repository at the deployed commit, for tasks that run files
/// kept beside the flows (`workdir = ".drover/git/checkout"`).
pub fn checkout_dir(root: &Path) -> PathBuf {
    git_dir(root).join("checkout")
}

fn state_path(root: &Path) -> PathBuf {
    git_dir(root).join("state.json")
}

/// A flow file that did not validate at a commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileError {
    /// The flow id (file stem).
    pub flow: String,
    /// The file's path inside the repository.
    pub path: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// Whether a last good version of the file stays in use.
    #[serde(default)]
    pub kept: bool,
}

/// What the last syncs did, kept in `.drover/git/state.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    /// The commit in use (the last one fetched), its summary and time.
    pub commit: Option<String>,
    pub summary: Option<String>,
    pub commit_time: Option<DateTime<Utc>>,
    /// When a sync last succeeded.
    pub synced_at: Option<DateTime<Utc>>,
    /// Why the last sync failed, if it did (a dead remote, bad auth).
    pub error: Option<String>,
    /// Syncs failed in a row (for backoff).
    pub failures: u32,
    /// Files of the commit in use that did not validate.
    pub invalid: Vec<FileError>,
    /// Each good flow file (file name) and the commit it came from.
    pub files: BTreeMap<String, String>,
}

impl SyncState {
    /// The state of a home's git sync; default when it never synced.
    pub fn load(root: &Path) -> SyncState {
        std::fs::read(state_path(root))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    fn save(&self, root: &Path) -> Result<(), String> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        write_atomic(&state_path(root), &json)
    }

    /// The invalid files as diagnostics ("commit abc1234: path:line:col").
    pub fn diagnostics(&self) -> Vec<(String, Diagnostic)> {
        let short = self.commit.as_deref().map_or("?", short_sha);
        self.invalid
            .iter()
            .map(|e| {
                (
                    e.flow.clone(),
                    Diagnostic {
                        path: PathBuf::from(&e.path),
                        line: e.line,
                        col: e.col,
                        message: format!("{} (at commit {short})", e.message),
                        more: 0,
                    },
                )
            })
            .collect()
    }
}

/// The first 7 hex digits of a commit id.
pub fn short_sha(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

/// What one sync did.
#[derive(Debug, Clone, PartialEq)]
pub struct Synced {
    pub commit: String,
    pub summary: String,
    /// Flow files written (new or changed), and removed.
    pub updated: Vec<String>,
    pub removed: Vec<String>,
    pub invalid: Vec<FileError>,
}

/// Fetches the branch and deploys its flow files; records the outcome in
/// the state file either way. `config` is drover.toml's (flows are
/// validated against its pools and timezone).
pub fn sync(root: &Path, git: &GitConfig, config: &Config) -> Result<Synced, String> {
    // One sync at a time in a process (the timer's and `drover sync`'s).
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut state = SyncState::load(root);
    let outcome = fetch_and_deploy(root, git, config, &mut state);
    match &outcome {
        Ok(_) => {
            state.error = None;
            state.failures = 0;
            state.synced_at = Some(Utc::now());
        }
        Err(e) => {
            state.error = Some(e.clone());
            state.failures = state.failures.saturating_add(1);
        }
    }
    state.save(root)?;
    outcome
}

fn fetch_and_deploy(
    root: &Path,
    git: &GitConfig,
    config: &Config,
    state: &mut SyncState,
) -> Result<Synced, String> {
    let dir = git_dir(root);
    crate::private::dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let repo_dir = dir.join("repo");
    let repo = match git2::Repository::open_bare(&repo_dir) {
        Ok(repo) => repo,
        Err(_) => git2::Repository::init_bare(&repo_dir)
            .map_err(|e| format!("cannot create {}: {}", repo_dir.display(), e.message()))?,
    };
    let tip = fetch(&repo, root, git)?;
    let commit = repo
        .find_commit(tip)
        .map_err(|e| format!("commit {tip} is missing after the fetch: {}", e.message()))?;
    let sha = commit.id().to_string();
    let summary = commit.summary().ok().flatten().unwrap_or("").to_string();
    // The whole tree, for scripts the tasks run (forced: files gone from
    // the commit go from the checkout).
    let checkout = checkout_dir(root);
    std::fs::create_dir_all(&checkout)
        .map_err(|e| format!("cannot create {}: {e}", checkout.display()))?;
    let mut how = git2::build::CheckoutBuilder::new();
    how.target_dir(&checkout).force().remove_untracked(true);
    repo.checkout_tree(commit.as_object(), Some(&mut how))
        .map_err(|e| {
            format!(
                "cannot check out {} into {}: {}",
                short_sha(&sha),
                checkout.display(),
                e.message()
            )
        })?;
    let tree = commit.tree().map_err(|e| e.message().to_string())?;
    let folder = git.path.trim_matches('/');
    let subtree = if folder.is_empty() || folder == "." {
        tree
    } else {
        let entry = tree.get_path(Path::new(folder)).map_err(|_| {
            format!(
                "commit {} has no folder `{folder}` (the [git] path)",
                short_sha(&sha)
            )
        })?;
        repo.find_tree(entry.id())
            .map_err(|_| format!("`{folder}` at commit {} is not a folder", short_sha(&sha)))?
    };
    // The flow files at the tip: name → text, or the reason it is unreadable.
    let mut files: BTreeMap<String, Result<String, (usize, usize, String)>> = BTreeMap::new();
    for entry in subtree.iter() {
        let Some(name) = entry.name().ok().filter(|n| n.ends_with(".toml")) else {
            continue;
        };
        if entry.kind() != Some(git2::ObjectType::Blob) {
            continue;
        }
        let text = match repo.find_blob(entry.id()) {
            Ok(blob) if blob.size() > MAX_FILE_BYTES => Err((
                1,
                1,
                format!(
                    "the file is {} MiB; drover reads at most {} MiB",
                    blob.size() / (1024 * 1024),
                    MAX_FILE_BYTES / (1024 * 1024)
                ),
            )),
            Ok(blob) => String::from_utf8(blob.content().to_vec()).map_err(|e| {
                let d = Diagnostic::not_utf8(Path::new(name), &e);
                (d.line, d.col, d.message)
            }),
            Err(e) => Err((1, 1, e.message().to_string())),
        };
        files.insert(name.to_string(), text);
    }
    let deployed = flows_dir(root);
    std::fs::create_dir_all(&deployed)
        .map_err(|e| format!("cannot create {}: {e}", deployed.display()))?;
    let mut synced = Synced {
        commit: sha.clone(),
        summary: summary.clone(),
        updated: Vec::new(),
        removed: Vec::new(),
        invalid: Vec::new(),
    };
    let mut good: BTreeMap<String, String> = BTreeMap::new();
    for (name, text) in &files {
        let id = name.trim_end_matches(".toml");
        let shown = if folder.is_empty() || folder == "." {
            name.clone()
        } else {
            format!("{folder}/{name}")
        };
        let checked: Result<&String, Vec<(usize, usize, String)>> = match text {
            Ok(text) => crate::flow::parse_flow(id, Path::new(&shown), text, config)
                .map(|_| text)
                .map_err(|diags| {
                    diags
                        .into_iter()
                        .map(|d| (d.line, d.col, d.message))
                        .collect()
                }),
            Err(why) => Err(vec![why.clone()]),
        };
        match checked {
            Ok(text) => {
                let target = deployed.join(name);
                if std::fs::read_to_string(&target).ok().as_deref() != Some(text.as_str()) {
                    write_atomic(&target, text.as_bytes())?;
                    synced.updated.push(id.to_string());
                }
                good.insert(name.clone(), sha.clone());
            }
            Err(errors) => {
                let kept = state.files.contains_key(name);
                for (line, col, message) in errors {
                    synced.invalid.push(FileError {
                        flow: id.to_string(),
                        path: shown.clone(),
                        line,
                        col,
                        message,
                        kept,
                    });
                }
                // The last good version stays, with the commit it came from.
                if let Some(from) = state.files.get(name) {
                    good.insert(name.clone(), from.clone());
                }
            }
        }
    }
    // Files gone from the commit go from the flows too.
    if let Ok(entries) = std::fs::read_dir(&deployed) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".toml") && !files.contains_key(&name) {
                std::fs::remove_file(entry.path())
                    .map_err(|e| format!("cannot remove {}: {e}", entry.path().display()))?;
                synced
                    .removed
                    .push(name.trim_end_matches(".toml").to_string());
            }
        }
    }
    state.commit = Some(sha);
    state.summary = Some(summary);
    state.commit_time = Utc.timestamp_opt(commit.time().seconds(), 0).single();
    state.invalid = synced.invalid.clone();
    state.files = good;
    Ok(synced)
}

/// Fetches `branch` (forced: a force push replaces what was there) and
/// returns its tip.
fn fetch(repo: &git2::Repository, root: &Path, git: &GitConfig) -> Result<git2::Oid, String> {
    let mut remote = repo
        .remote_anonymous(&git.url)
        .map_err(|e| format!("bad git url `{}`: {}", git.url, e.message()))?;
    let mut callbacks = git2::RemoteCallbacks::new();
    let mut attempts = 0;
    let key = git.ssh_key.as_ref().map(|k| {
        let path = PathBuf::from(k);
        if path.is_absolute() {
            path
        } else {
            root.join(path)
        }
    });
    let token_env = git.token_env.clone();
    callbacks.credentials(move |_url, username, allowed| {
        attempts += 1;
        if attempts > 3 {
            return Err(git2::Error::from_str("the remote refused every credential drover has"));
        }
        let user = username.unwrap_or("git");
        if allowed.contains(git2::CredentialType::SSH_KEY) {
            return match &key {
                Some(key) => git2::Cred::ssh_key(user, None, key, None),
                None => git2::Cred::ssh_key_from_agent(user),
            };
        }
        if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
            let Some(var) = &token_env else {
                return Err(git2::Error::from_str("the remote asks for a password: set [git] token_env to the variable holding a token"));
            };
            let token = std::env::var(var)
                .map_err(|_| git2::Error::from_str(&format!("[git] token_env names `{var}`, which is not set")))?;
            return git2::Cred::userpass_plaintext(username.unwrap_or("drover"), &token);
        }
        if allowed.contains(git2::CredentialType::USERNAME) {
            return git2::Cred::username(user);
        }
        git2::Cred::default()
    });
    let mut options = git2::FetchOptions::new();
    options.remote_callbacks(callbacks);
    options.download_tags(git2::AutotagOption::None);
    let local = format!("refs/remotes/origin/{}", git.branch);
    let refspec = format!("+refs/heads/{}:{local}", git.branch);
    // The fetch only updates what the remote has: drop the old copy first,
    // so a branch renamed or deleted there is noticed, not served stale.
    if let Ok(mut old) = repo.find_reference(&local) {
        let _ = old.delete();
    }
    remote
        .fetch(&[refspec.as_str()], Some(&mut options), None)
        .map_err(|e| {
            let hint = if e.message().contains("hostkey") {
                " (add the server's key to ~/.ssh/known_hosts, e.g. with ssh-keyscan)"
            } else {
                ""
            };
            format!(
                "cannot fetch {} from {}: {}{hint}",
                git.branch,
                git.url,
                e.message()
            )
        })?;
    let reference = repo
        .find_reference(&local)
        .map_err(|_| format!("{} has no branch `{}`", git.url, git.branch))?;
    reference
        .target()
        .ok_or_else(|| format!("branch `{}` of {} points nowhere", git.branch, git.url))
}

/// Writes through a temporary file and a rename, so a reader sees the old
/// file or the new one, never half of one.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp~");
    crate::private::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// When the next sync is due after `failures` failed ones in a row: the
/// interval, doubled per failure, at most 15 minutes (or the interval, if
/// that is longer).
pub fn next_delay(interval: std::time::Duration, failures: u32) -> std::time::Duration {
    let cap = interval.max(std::time::Duration::from_secs(15 * 60));
    interval.saturating_mul(1u32 << failures.min(16)).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn failed_syncs_back_off_up_to_a_cap() {
        let s = Duration::from_secs;
        assert_eq!(next_delay(s(60), 0), s(60));
        assert_eq!(next_delay(s(60), 1), s(120));
        assert_eq!(next_delay(s(60), 3), s(480));
        assert_eq!(next_delay(s(60), 10), s(900));
        assert_eq!(next_delay(s(3600), 5), s(3600));
    }
}
