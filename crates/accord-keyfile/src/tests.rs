use super::*;
use std::fs;
use std::io::Write as _;

/// The bytes both earlier implementations (the node's and the SDK's) wrote
/// for the seed 00 01 … 1f: lowercase hexadecimal and a newline.
const EARLIER_FILE: &[u8] = b"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";

fn earlier_seed() -> [u8; 32] {
    std::array::from_fn(|i| i as u8)
}

/// Writes `content` as a key file as the earlier code did (mode 0600),
/// bypassing this crate.
fn write_raw(path: &Path, content: &[u8]) {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path).expect("create").write_all(content).expect("write");
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_key_file_written_by_the_earlier_code_reads_as_the_same_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("node.key");
    write_raw(&path, EARLIER_FILE);
    let key = read(&path).expect("read");
    assert_eq!(*key.to_seed(), earlier_seed());
}

#[test]
fn a_written_key_file_has_the_earlier_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("alice.key");
    write(&path, &SecretKey::from_seed(earlier_seed())).expect("write");
    assert_eq!(fs::read(&path).expect("read back"), EARLIER_FILE);
}

#[test]
fn a_key_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("alice.key");
    let key = SecretKey::from_seed([0xab; 32]);
    write(&path, &key).expect("write");
    assert_eq!(fs::read_to_string(&path).expect("read back"), format!("{}\n", "ab".repeat(32)));
    assert_eq!(read(&path).expect("read").account_id(), key.account_id());
}

#[cfg(unix)]
#[test]
fn new_files_and_directories_are_for_their_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sub/dir/k.key");
    write(&path, &SecretKey::from_seed([1; 32])).expect("write");
    let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = fs::metadata(dir.path().join("sub")).expect("meta").permissions().mode() & 0o777;
    assert_eq!(dir_mode & 0o077, 0);
    let token = dir.path().join("admin.token");
    write_private(&token, b"secret").expect("write");
    assert_eq!(fs::metadata(&token).expect("meta").permissions().mode() & 0o777, 0o600);
    assert_eq!(fs::read(&token).expect("read back"), b"secret");
}

#[test]
fn an_existing_file_is_replaced_only_when_asked_and_no_temporary_file_stays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("k.key");
    let first = SecretKey::from_seed([1; 32]);
    let second = SecretKey::from_seed([2; 32]);
    write(&path, &first).expect("write");
    assert!(matches!(write(&path, &second), Err(KeyFileError::Exists { .. })));
    assert!(matches!(write_private(&path, b"token"), Err(KeyFileError::Exists { .. })));
    assert_eq!(read(&path).expect("read").account_id(), first.account_id());
    overwrite(&path, &second).expect("overwrite");
    assert_eq!(read(&path).expect("read").account_id(), second.account_id());
    assert_eq!(entries(dir.path()), ["k.key"]);
}

#[test]
fn malformed_files_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = ["", "abc\n", &"zz".repeat(32), &format!("{}\nextra", "ab".repeat(32)), &"ab".repeat(33)];
    for (i, content) in bad.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.key"));
        write_raw(&path, content.as_bytes());
        assert!(matches!(read(&path), Err(KeyFileError::Malformed { .. })), "{content:?}");
    }
}

#[test]
fn line_endings_surrounding_whitespace_and_case_are_tolerated() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, content) in [format!("{}\r\n", "AB".repeat(32)), format!("  {}", "aB".repeat(32))].iter().enumerate() {
        let path = dir.path().join(format!("k{i}.key"));
        write_raw(&path, content.as_bytes());
        assert_eq!(read(&path).expect("read").account_id(), SecretKey::from_seed([0xab; 32]).account_id());
    }
}

#[cfg(unix)]
#[test]
fn a_file_others_can_read_or_write_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("k.key");
    write(&path, &SecretKey::from_seed([1; 32])).expect("write");
    for mode in [0o644, 0o640, 0o604, 0o620] {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
        match read(&path) {
            Err(KeyFileError::Permissions { mode: seen, .. }) => assert_eq!(seen, mode),
            other => panic!("mode {mode:o} was not refused: {other:?}"),
        }
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).expect("chmod");
    assert!(read(&path).is_ok(), "a read-only owner file is fine");
}

#[test]
fn a_missing_file_is_an_io_error_and_read_or_generate_creates_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new.key");
    assert!(matches!(read(&path), Err(KeyFileError::Io { .. })));
    let (key, created) = read_or_generate(&path).expect("generate");
    assert!(created);
    let (again, created) = read_or_generate(&path).expect("reuse");
    assert!(!created);
    assert_eq!(key.account_id(), again.account_id());
}
