//! drover's state and logs are the owner's alone: folders it makes are
//! 0700 and files 0600, whatever the umask (task output, params and run
//! ids are nobody else's business). Used by the store, the logs and the
//! supervisor for everything they create under `.drover/`; a task's own
//! files keep the user's umask.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Makes `dir` and its missing parents, each 0700. Folders that exist
/// already are left as they are.
pub fn dir(dir: &Path) -> io::Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
    for d in missing.into_iter().rev() {
        match fs::DirBuilder::new().mode(DIR_MODE).create(d) {
            Ok(()) => fs::set_permissions(d, Permissions::from_mode(DIR_MODE))?,
            // Made meanwhile by another process (a supervisor, a command).
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Opens `path` with `options`, creating it 0600; a file found with other
/// permissions is made 0600.
pub fn open(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    let file = options.mode(FILE_MODE).open(path)?;
    if file.metadata()?.permissions().mode() & 0o777 != FILE_MODE {
        file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    }
    Ok(file)
}

/// Opens `path` for appending, creating it 0600.
pub fn append(path: &Path) -> io::Result<File> {
    open(OpenOptions::new().create(true).append(true), path)
}

/// Writes `bytes` as the whole of `path`, which is 0600 after.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    open(
        OpenOptions::new().create(true).write(true).truncate(true),
        path,
    )?
    .write_all(bytes)
}

/// Makes `dir` 0700 and everything in it the owner's alone (folders 0700,
/// files 0600): for state made by an older drover, or by a library that
/// creates its files with the umask (sled). Symlinks are not followed.
pub fn tighten(dir: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Ok(());
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        fs::set_permissions(&d, Permissions::from_mode(DIR_MODE))?;
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                fs::set_permissions(entry.path(), Permissions::from_mode(FILE_MODE))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_files_are_the_owners_alone() {
        let top = tempfile::tempdir().unwrap();
        let deep = top.path().join("a/b/c");
        dir(&deep).unwrap();
        for d in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&top.path().join(d)), 0o700, "{d}");
        }
        let f = deep.join("log");
        fs::write(&f, "old").unwrap();
        fs::set_permissions(&f, Permissions::from_mode(0o644)).unwrap();
        append(&f).unwrap().write_all(b" new").unwrap();
        assert_eq!(mode(&f), 0o600);
        write(&deep.join("end"), b"x").unwrap();
        assert_eq!(mode(&deep.join("end")), 0o600);
        fs::set_permissions(top.path().join("a/b"), Permissions::from_mode(0o755)).unwrap();
        tighten(&top.path().join("a")).unwrap();
        assert_eq!(mode(&top.path().join("a/b")), 0o700);
    }
}
