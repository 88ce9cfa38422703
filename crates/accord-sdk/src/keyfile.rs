//! Account key files.
//!
//! A key file holds the 32-byte ed25519 seed as 64 lowercase hexadecimal
//! digits and a newline. It is created readable by its owner only (mode
//! `0600` on Unix) and never silently replaced; [`read`] refuses a file
//! that other users can read, as `ssh` does.
//!
//! ```no_run
//! use accord_sdk::{SecretKey, keyfile};
//!
//! let key = SecretKey::generate()?;
//! keyfile::write("alice.key", &key)?;
//! let again = keyfile::read("alice.key")?;
//! assert_eq!(key.account_id(), again.account_id());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::error::KeyFileError;
use accord_proto::SecretKey;
use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The largest file [`read`] looks at: a key file is 65 bytes.
const MAX_KEY_FILE: u64 = 1024;

/// Writes `key` to a new file at `path`, readable by its owner only.
/// Refuses if the file exists (see [`overwrite`]). Missing parent
/// directories are created (mode `0700` on Unix).
pub fn write(path: impl AsRef<Path>, key: &SecretKey) -> Result<(), KeyFileError> {
    let path = path.as_ref();
    create_parent(path)?;
    let file = open_new(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::Exists { path: path.to_owned() }
        } else {
            KeyFileError::Io { path: path.to_owned(), source }
        }
    })?;
    write_and_sync(path, file, key)
}

/// Writes `key` to `path`, replacing any existing file atomically (the new
/// key is written to a temporary file beside it, then renamed over it).
pub fn overwrite(path: impl AsRef<Path>, key: &SecretKey) -> Result<(), KeyFileError> {
    let path = path.as_ref();
    create_parent(path)?;
    let tmp = temp_path(path);
    let _ = fs::remove_file(&tmp);
    let file = open_new(&tmp).map_err(|source| KeyFileError::Io { path: tmp.clone(), source })?;
    if let Err(err) = write_and_sync(&tmp, file, key) {
        let _ = fs::remove_file(&tmp);
        return Err(err);
    }
    fs::rename(&tmp, path).map_err(|source| {
        let _ = fs::remove_file(&tmp);
        KeyFileError::Io { path: path.to_owned(), source }
    })
}

/// Reads a key file written by [`write`](fn@write).
pub fn read(path: impl AsRef<Path>) -> Result<SecretKey, KeyFileError> {
    let path = path.as_ref();
    let io = |source| KeyFileError::Io { path: path.to_owned(), source };
    let file = fs::File::open(path).map_err(io)?;
    check_permissions(path, &file)?;
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_KEY_FILE).read_to_string(&mut text).map_err(io)?;
    parse(&text).map_err(|reason| KeyFileError::Malformed { path: path.to_owned(), reason })
}

/// Reads the key at `path`, or generates one and writes it there if there
/// is no file. Returns the key and whether it was created.
pub fn read_or_generate(path: impl AsRef<Path>) -> Result<(SecretKey, bool), KeyFileError> {
    let path = path.as_ref();
    match read(path) {
        Ok(key) => Ok((key, false)),
        Err(KeyFileError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::generate().map_err(|e| KeyFileError::Randomness(e.to_string()))?;
            write(path, &key)?;
            Ok((key, true))
        }
        Err(err) => Err(err),
    }
}

/// The file's content for `key`.
fn encode(key: &SecretKey) -> Zeroizing<String> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let seed = key.to_seed();
    let mut text = Zeroizing::new(String::with_capacity(65));
    for byte in seed.iter() {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text.push('\n');
    text
}

/// Parses a key file's content: 64 hexadecimal digits, then optional
/// trailing whitespace.
fn parse(text: &str) -> Result<SecretKey, String> {
    let digits = text.trim_end();
    if digits.len() != 64 {
        return Err(format!("expected 64 hexadecimal digits, found {} characters", digits.len()));
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    for (i, pair) in digits.as_bytes().chunks_exact(2).enumerate() {
        let hi = hex_value(pair[0]).ok_or("not hexadecimal")?;
        let lo = hex_value(pair[1]).ok_or("not hexadecimal")?;
        seed[i] = hi << 4 | lo;
    }
    Ok(SecretKey::from_seed(*seed))
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn write_and_sync(path: &Path, mut file: fs::File, key: &SecretKey) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io { path: path.to_owned(), source };
    file.write_all(encode(key).as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

fn create_parent(path: &Path) -> Result<(), KeyFileError> {
    let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    if parent.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(parent).map_err(|source| KeyFileError::Io { path: parent.to_owned(), source })
}

fn open_new(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("alice.key");
        let key = SecretKey::from_seed([0xab; 32]);
        write(&path, &key).expect("write");
        let text = fs::read_to_string(&path).expect("read back");
        assert_eq!(text, format!("{}\n", "ab".repeat(32)));
        assert_eq!(read(&path).expect("read").account_id(), key.account_id());
    }

    #[cfg(unix)]
    #[test]
    fn created_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/dir/k.key");
        write(&path, &SecretKey::from_seed([1; 32])).expect("write");
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = fs::metadata(dir.path().join("sub")).expect("meta").permissions().mode() & 0o777;
        assert_eq!(dir_mode & 0o077, 0);
    }

    #[test]
    fn refuses_to_overwrite_unless_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k.key");
        let first = SecretKey::from_seed([1; 32]);
        let second = SecretKey::from_seed([2; 32]);
        write(&path, &first).expect("write");
        assert!(matches!(write(&path, &second), Err(KeyFileError::Exists { .. })));
        assert_eq!(read(&path).expect("read").account_id(), first.account_id());
        overwrite(&path, &second).expect("overwrite");
        assert_eq!(read(&path).expect("read").account_id(), second.account_id());
        assert!(!temp_path(&path).exists());
    }

    #[test]
    fn malformed_files_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (i, content) in ["", "abc\n", &"zz".repeat(32), &format!("{}\nextra", "ab".repeat(32))].iter().enumerate() {
            let path = dir.path().join(format!("bad{i}.key"));
            write_raw(&path, content);
            assert!(matches!(read(&path), Err(KeyFileError::Malformed { .. })), "{content:?}");
        }
    }

    #[test]
    fn tolerant_of_line_endings_and_case() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k.key");
        write_raw(&path, &format!("{}\r\n", "AB".repeat(32)));
        assert_eq!(read(&path).expect("read").account_id(), SecretKey::from_seed([0xab; 32]).account_id());
    }

    #[cfg(unix)]
    #[test]
    fn readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k.key");
        write(&path, &SecretKey::from_seed([1; 32])).expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(read(&path), Err(KeyFileError::Permissions { mode: 0o644, .. })));
    }

    #[test]
    fn missing_file_is_an_io_error_and_read_or_generate_creates_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new.key");
        assert!(matches!(read(&path), Err(KeyFileError::Io { .. })));
        let (key, created) = read_or_generate(&path).expect("generate");
        assert!(created);
        let (again, created) = read_or_generate(&path).expect("reuse");
        assert!(!created);
        assert_eq!(key.account_id(), again.account_id());
    }

    fn write_raw(path: &Path, content: &str) {
        let mut file = open_new(path).expect("create");
        file.write_all(content.as_bytes()).expect("write");
    }
}
