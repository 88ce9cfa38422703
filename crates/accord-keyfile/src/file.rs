//! Secret files on disk: created complete and owner-only, read only while
//! private.

use crate::KeyFileError;
use std::fs;
use std::io::{Read as _, Write as _};
use std::path::Path;
use zeroize::Zeroizing;

/// The largest file read: a key file is 65 bytes.
const MAX_FILE: u64 = 1024;

/// Whether [`create`] may replace an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replace {
    /// An existing file is left alone and reported as [`KeyFileError::Exists`].
    No,
    /// An existing file is replaced.
    Yes,
}

/// Creates the file at `path` holding `bytes`: written and synced under a
/// temporary name in the same directory (mode `0600` on Unix), then moved
/// into place in one step, so that `path` never holds part of the bytes.
pub(crate) fn create(path: &Path, bytes: &[u8], replace: Replace) -> Result<(), KeyFileError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| KeyFileError::Io { path, source }
    };
    let name = path.file_name().ok_or_else(|| {
        io(path)(std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path does not name a file"))
    })?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    create_dir(dir)?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(fs::Permissions::from_mode(0o600));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(io(dir))?;
    tmp.write_all(bytes).map_err(io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io(tmp.path()))?;
    let placed = match replace {
        Replace::No => tmp.persist_noclobber(path),
        Replace::Yes => tmp.persist(path),
    };
    placed.map_err(|e| match e.error.kind() {
        std::io::ErrorKind::AlreadyExists if replace == Replace::No => KeyFileError::Exists { path: path.to_owned() },
        _ => KeyFileError::Io { path: path.to_owned(), source: e.error },
    })?;
    sync_dir(dir)
}

/// Reads the file at `path` (at most [`MAX_FILE`] bytes), refusing it if
/// users other than its owner may read or write it.
pub(crate) fn read_private(path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
    let io = |source| KeyFileError::Io { path: path.to_owned(), source };
    let file = fs::File::open(path).map_err(io)?;
    check_permissions(path, &file)?;
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_FILE).read_to_string(&mut text).map_err(io)?;
    Ok(text)
}

/// Creates `dir` and its missing parents (mode `0700` on Unix).
fn create_dir(dir: &Path) -> Result<(), KeyFileError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| KeyFileError::Io { path: dir.to_owned(), source })
}

/// Makes the directory's new entry durable (Unix; elsewhere the rename is
/// what the platform offers).
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), KeyFileError> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|source| KeyFileError::Io { path: dir.to_owned(), source })
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), KeyFileError> {
    Ok(())
}

#[cfg(unix)]
fn check_permissions(path: &Path, file: &fs::File) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = file.metadata().map_err(|source| KeyFileError::Io { path: path.to_owned(), source })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions { path: path.to_owned(), mode });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _file: &fs::File) -> Result<(), KeyFileError> {
    Ok(())
}
