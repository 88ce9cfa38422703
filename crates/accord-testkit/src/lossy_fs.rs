//! A FUSE filesystem that loses, at a power cut, every byte written and
//! not yet made durable, as a machine losing power loses its page cache.
//!
//! `SIGKILL` ends a process but leaves the kernel's page cache to reach
//! the disk, so a crash test on an ordinary filesystem cannot tell a
//! program that fsyncs from one that does not. [`LossyFs`] mounts a
//! filesystem over a backing directory and passes every operation
//! through to it, keeping for each file what it would take to put back
//! its durable state: its length at its last `fsync`/`fdatasync` and the
//! durable bytes that unsynced writes (and truncations) have since
//! replaced. [`LossyFs::power_cut`] unmounts, puts every file back as it
//! was at its last sync (what was appended since is cut off, what was
//! overwritten is restored) and mounts the filesystem again, with an
//! empty kernel cache. Reading back the backing directory after a cut is
//! therefore exactly what a disk would hold if the unsynced data had
//! been held in memory only.
//!
//! The model covers file **data** only. Namespace changes (create,
//! `mkdir`, rename, unlink) are durable as soon as they return, as on a
//! filesystem that commits metadata synchronously (`dirsync`): a file
//! created and never synced survives a cut, empty. That is more forgiving
//! than a disk with delayed metadata, and no stricter than one: what these
//! tests show is that acknowledged data was fsynced before it was
//! acknowledged. Directory fsyncs are answered and have nothing to do.
//!
//! Mounting needs `/dev/fuse` and either `CAP_SYS_ADMIN` (root mounts with
//! `mount(2)` directly) or the `fusermount3` helper (Debian's `fuse3`).
//! A mount that cannot be made is an error, never a silent pass-through.

use fuser::{
    BackgroundSession, Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    MountOption, OpenAccMode, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{File, Metadata, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long the kernel may cache attributes and names. Every change goes
/// through this mount, so the kernel's cache stays right; a power cut
/// remounts, which empties it.
const TTL: Duration = Duration::from_secs(1);

/// `O_EXCL` on Linux.
const O_EXCL: i32 = 0o200;

/// A mounted lossy filesystem over a temporary backing directory.
pub struct LossyFs {
    backing: tempfile::TempDir,
    mountpoint: tempfile::TempDir,
    state: Arc<Mutex<State>>,
    session: Option<BackgroundSession>,
}

/// What a power cut discarded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Discarded {
    /// Files put back to their last synced state.
    pub files: usize,
    /// Bytes appended since the last sync and cut off.
    pub bytes_cut: u64,
    /// Durable bytes that unsynced writes had replaced, put back.
    pub bytes_restored: u64,
}

impl LossyFs {
    /// Mounts a lossy filesystem over a new, empty backing directory.
    /// Fails (with what to install or which privilege is missing) if the
    /// mount cannot be made.
    pub fn mount() -> anyhow::Result<LossyFs> {
        let backing = tempfile::Builder::new().prefix("accord-lossy-backing").tempdir()?;
        let mountpoint = tempfile::Builder::new().prefix("accord-lossy-mnt").tempdir()?;
        let mut fs = LossyFs { backing, mountpoint, state: Arc::new(Mutex::new(State::default())), session: None };
        fs.attach()?;
        Ok(fs)
    }

    /// Where the filesystem is mounted: write here.
    pub fn path(&self) -> &Path {
        self.mountpoint.path()
    }

    /// Makes everything written so far durable, as `sync(1)` would (or
    /// the kernel's periodic writeback).
    pub fn sync_all(&self) {
        lock(&self.state).undo.clear();
    }

    /// Cuts the power: unmounts the filesystem, discards every write not
    /// made durable by an fsync of its file, and mounts it again. Stop
    /// the processes using it first (SIGKILL is what a power cut does to
    /// them).
    pub fn power_cut(&mut self) -> anyhow::Result<Discarded> {
        self.detach()?;
        let undo = std::mem::take(&mut lock(&self.state).undo);
        let paths = lock(&self.state).paths.clone();
        let mut discarded = Discarded::default();
        for (ino, record) in undo {
            let Some(path) = paths.get(&ino) else { continue };
            let file = match OpenOptions::new().write(true).open(self.backing.path().join(path)) {
                Ok(f) => f,
                // Unlinked since: nothing of it is left to put back.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            let len = file.metadata()?.len();
            discarded.files += 1;
            discarded.bytes_cut += len.saturating_sub(record.durable_len);
            file.set_len(record.durable_len)?;
            // Latest first: the earliest copy of a byte is its durable one.
            for (offset, bytes) in record.replaced.iter().rev() {
                file.write_all_at(bytes, *offset)?;
                discarded.bytes_restored += bytes.len() as u64;
            }
        }
        self.attach()?;
        Ok(discarded)
    }

    fn attach(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(
            Path::new("/dev/fuse").exists(),
            "lossy filesystem: /dev/fuse is missing (load the fuse kernel module)"
        );
        {
            let mut state = lock(&self.state);
            state.paths.clear();
            state.paths.insert(INodeNo::ROOT.0, PathBuf::new());
            state.files.clear();
        }
        let passthrough = Passthrough { root: self.backing.path().to_path_buf(), state: self.state.clone() };
        let mut config = Config::default();
        config.mount_options = vec![MountOption::FSName("accord-lossy".into()), MountOption::NoAtime];
        let session = fuser::spawn_mount(passthrough, self.mountpoint.path(), &config).map_err(|e| {
            anyhow::anyhow!(
                "lossy filesystem: cannot mount FUSE on {} ({e}); the power-loss tests need /dev/fuse and root \
                 (CAP_SYS_ADMIN) or fusermount3 (Debian package fuse3, see scripts/install-deps.sh)",
                self.mountpoint.path().display()
            )
        })?;
        self.session = Some(session);
        Ok(())
    }

    fn detach(&mut self) -> anyhow::Result<()> {
        let Some(session) = self.session.take() else { return Ok(()) };
        // The kernel may still be releasing the files of a process just
        // killed: the mount is busy for a moment.
        let mut unmounted = false;
        for _ in 0..100 {
            let path = self.mountpoint.path();
            let done = |status: std::io::Result<std::process::ExitStatus>| status.is_ok_and(|s| s.success());
            // umount(8) as root; fusermount3 otherwise.
            if done(std::process::Command::new("umount").arg(path).stderr(std::process::Stdio::null()).status())
                || done(
                    std::process::Command::new("fusermount3")
                        .arg("-u")
                        .arg(path)
                        .stderr(std::process::Stdio::null())
                        .status(),
                )
            {
                unmounted = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        anyhow::ensure!(unmounted, "lossy filesystem: cannot unmount {}", self.mountpoint.path().display());
        // Unmounted: the session's thread ends.
        session.join().map_err(|e| anyhow::anyhow!("lossy filesystem: session: {e}"))
    }
}

impl Drop for LossyFs {
    fn drop(&mut self) {
        let _ = self.detach();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the filesystem knows besides the backing directory.
#[derive(Default)]
struct State {
    /// Inode number → path relative to the backing directory.
    paths: HashMap<u64, PathBuf>,
    /// Open file handles.
    files: HashMap<u64, File>,
    next_fh: u64,
    /// Per inode, what puts its data back to its last synced state.
    undo: HashMap<u64, Undo>,
}

/// How to put one file back to its last synced state.
struct Undo {
    /// Its length at its last sync.
    durable_len: u64,
    /// Durable bytes replaced since, with their offsets, oldest first.
    replaced: Vec<(u64, Vec<u8>)>,
}

impl State {
    /// Notes that the file `ino` (now `current_len` long) is about to
    /// change in `range`: keeps the durable bytes in it.
    fn before_change(&mut self, ino: u64, file: &File, current_len: u64, range: std::ops::Range<u64>) {
        let record = self.undo.entry(ino).or_insert(Undo { durable_len: current_len, replaced: Vec::new() });
        let end = range.end.min(record.durable_len).min(current_len);
        if range.start < end {
            let mut old = vec![0; usize::try_from(end - range.start).unwrap_or(0)];
            if file.read_exact_at(&mut old, range.start).is_ok() {
                record.replaced.push((range.start, old));
            }
        }
    }
}

/// The FUSE side: every operation applied to the backing directory.
struct Passthrough {
    root: PathBuf,
    state: Arc<Mutex<State>>,
}

fn attr(ino: u64, m: &Metadata) -> FileAttr {
    let at = |secs: i64, nanos: i64| {
        UNIX_EPOCH + Duration::new(u64::try_from(secs).unwrap_or(0), u32::try_from(nanos).unwrap_or(0))
    };
    FileAttr {
        ino: INodeNo(ino),
        size: m.size(),
        blocks: m.blocks(),
        atime: at(m.atime(), m.atime_nsec()),
        mtime: at(m.mtime(), m.mtime_nsec()),
        ctime: at(m.ctime(), m.ctime_nsec()),
        crtime: UNIX_EPOCH,
        kind: FileType::from_std(m.file_type()).unwrap_or(FileType::RegularFile),
        perm: u16::try_from(m.mode() & 0o7777).unwrap_or(0o600),
        nlink: u32::try_from(m.nlink()).unwrap_or(1),
        uid: m.uid(),
        gid: m.gid(),
        rdev: u32::try_from(m.rdev()).unwrap_or(0),
        blksize: u32::try_from(m.blksize()).unwrap_or(4096),
        flags: 0,
    }
}

fn errno(e: std::io::Error) -> Errno {
    Errno::from(e)
}

impl Passthrough {
    fn path(&self, ino: INodeNo) -> Result<PathBuf, Errno> {
        lock(&self.state).paths.get(&ino.0).map(|p| self.root.join(p)).ok_or(Errno::ENOENT)
    }

    fn child(&self, parent: INodeNo, name: &OsStr) -> Result<(PathBuf, PathBuf), Errno> {
        let state = lock(&self.state);
        let rel = state.paths.get(&parent.0).ok_or(Errno::ENOENT)?.join(name);
        Ok((self.root.join(&rel), rel))
    }

    /// The inode number the kernel knows `rel` by (the root is 1).
    fn remember(&self, rel: PathBuf, m: &Metadata) -> u64 {
        let mut state = lock(&self.state);
        let ino = if rel.as_os_str().is_empty() { INodeNo::ROOT.0 } else { m.ino() };
        state.paths.insert(ino, rel);
        ino
    }

    fn entry(&self, rel: PathBuf, full: &Path, reply: ReplyEntry) {
        match std::fs::symlink_metadata(full) {
            Ok(m) => {
                let ino = self.remember(rel, &m);
                reply.entry(&TTL, &attr(ino, &m), Generation(0));
            }
            Err(e) => reply.error(errno(e)),
        }
    }

    fn open_handle(&self, file: File) -> FileHandle {
        let mut state = lock(&self.state);
        state.next_fh += 1;
        let fh = state.next_fh;
        state.files.insert(fh, file);
        FileHandle(fh)
    }
}

impl Filesystem for Passthrough {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.child(parent, name) {
            Ok((full, rel)) => self.entry(rel, &full, reply),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.path(ino).and_then(|p| std::fs::symlink_metadata(p).map_err(errno)) {
            Ok(m) => reply.attr(&TTL, &attr(ino.0, &m)),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let result = (|| {
            let path = self.path(ino)?;
            if let Some(mode) = mode {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o7777)).map_err(errno)?;
            }
            if uid.is_some() || gid.is_some() {
                std::os::unix::fs::chown(&path, uid, gid).map_err(errno)?;
            }
            if let Some(size) = size {
                let file = OpenOptions::new().read(true).write(true).open(&path).map_err(errno)?;
                let len = file.metadata().map_err(errno)?.len();
                lock(&self.state).before_change(ino.0, &file, len, size..len);
                file.set_len(size).map_err(errno)?;
            }
            std::fs::symlink_metadata(&path).map_err(errno)
        })();
        match result {
            Ok(m) => reply.attr(&TTL, &attr(ino.0, &m)),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, mode: u32, umask: u32, reply: ReplyEntry) {
        let (full, rel) = match self.child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let made = std::fs::create_dir(&full)
            .and_then(|()| std::fs::set_permissions(&full, std::fs::Permissions::from_mode(mode & !umask & 0o7777)));
        match made {
            Ok(()) => self.entry(rel, &full, reply),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let result = self.child(parent, name).and_then(|(full, _)| {
            let ino = std::fs::symlink_metadata(&full).map_err(errno)?.ino();
            std::fs::remove_file(&full).map_err(errno)?;
            lock(&self.state).undo.remove(&ino);
            Ok(())
        });
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.child(parent, name).and_then(|(full, _)| std::fs::remove_dir(full).map_err(errno)) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        // RENAME_NOREPLACE is served (tempfile's persist_noclobber asks
        // for it); RENAME_EXCHANGE and RENAME_WHITEOUT are not.
        if !(flags - RenameFlags::RENAME_NOREPLACE).is_empty() {
            return reply.error(Errno::EINVAL);
        }
        let result = (|| {
            let (from, from_rel) = self.child(parent, name)?;
            let (to, to_rel) = self.child(newparent, newname)?;
            let replaced = std::fs::symlink_metadata(&to).ok().map(|m| m.ino());
            if replaced.is_some() && flags.contains(RenameFlags::RENAME_NOREPLACE) {
                return Err(Errno::EEXIST);
            }
            std::fs::rename(&from, &to).map_err(errno)?;
            let mut state = lock(&self.state);
            if let Some(ino) = replaced {
                state.undo.remove(&ino);
            }
            // The renamed entry and everything under it move.
            for path in state.paths.values_mut() {
                if let Ok(rest) = path.strip_prefix(&from_rel) {
                    *path = if rest.as_os_str().is_empty() { to_rel.clone() } else { to_rel.join(rest) };
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn link(&self, _req: &Request, ino: INodeNo, newparent: INodeNo, newname: &OsStr, reply: ReplyEntry) {
        let linked = self.path(ino).and_then(|from| {
            let (to, rel) = self.child(newparent, newname)?;
            std::fs::hard_link(from, &to).map_err(errno)?;
            Ok((to, rel))
        });
        match linked {
            Ok((to, rel)) => self.entry(rel, &to, reply),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let mut options = OpenOptions::new();
        match flags.acc_mode() {
            OpenAccMode::O_RDONLY => options.read(true),
            OpenAccMode::O_WRONLY => options.write(true),
            OpenAccMode::O_RDWR => options.read(true).write(true),
        };
        match self.path(ino).and_then(|p| options.open(p).map_err(errno)) {
            Ok(file) => reply.opened(self.open_handle(file), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let result = (|| {
            let (full, rel) = self.child(parent, name)?;
            let mut options = OpenOptions::new();
            options.read(true).write(true).mode(mode & !umask & 0o7777);
            if flags & O_EXCL != 0 {
                options.create_new(true);
            } else {
                options.create(true);
            }
            let file = options.open(&full).map_err(errno)?;
            let m = file.metadata().map_err(errno)?;
            let ino = self.remember(rel, &m);
            Ok((ino, m, file))
        })();
        match result {
            Ok((ino, m, file)) => {
                let fh = self.open_handle(file);
                reply.created(&TTL, &attr(ino, &m), Generation(0), fh, FopenFlags::empty());
            }
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        reply: ReplyData,
    ) {
        let state = lock(&self.state);
        let Some(file) = state.files.get(&fh.0) else { return reply.error(Errno::EBADF) };
        let mut buf = vec![0; size as usize];
        let mut filled = 0;
        while filled < buf.len() {
            match file.read_at(&mut buf[filled..], offset + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return reply.error(errno(e)),
            }
        }
        reply.data(&buf[..filled]);
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        reply: ReplyWrite,
    ) {
        let mut state = lock(&self.state);
        let Some(file) = state.files.get(&fh.0) else { return reply.error(Errno::EBADF) };
        let file = match file.try_clone() {
            Ok(f) => f,
            Err(e) => return reply.error(errno(e)),
        };
        let len = match file.metadata() {
            Ok(m) => m.len(),
            Err(e) => return reply.error(errno(e)),
        };
        state.before_change(ino.0, &file, len, offset..offset + data.len() as u64);
        match file.write_all_at(data, offset) {
            Ok(()) => reply.written(u32::try_from(data.len()).unwrap_or(u32::MAX)),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn flush(&self, _req: &Request, _ino: INodeNo, _fh: FileHandle, _lock_owner: fuser::LockOwner, reply: ReplyEmpty) {
        // close(2) makes nothing durable.
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        lock(&self.state).files.remove(&fh.0);
        reply.ok();
    }

    fn fsync(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
        // The file's data as it is now is durable.
        lock(&self.state).undo.remove(&ino.0);
        reply.ok();
    }

    fn readdir(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let (full, rel) = {
            let state = lock(&self.state);
            match state.paths.get(&ino.0) {
                Some(rel) => (self.root.join(rel), rel.clone()),
                None => return reply.error(Errno::ENOENT),
            }
        };
        let listing = match std::fs::read_dir(&full) {
            Ok(l) => l,
            Err(e) => return reply.error(errno(e)),
        };
        let mut entries = vec![(ino.0, FileType::Directory, ".".into()), (ino.0, FileType::Directory, "..".into())];
        for item in listing.flatten() {
            let Ok(m) = item.metadata() else { continue };
            let name = item.file_name();
            let ino = self.remember(rel.join(&name), &m);
            entries.push((ino, FileType::from_std(m.file_type()).unwrap_or(FileType::RegularFile), name));
        }
        for (i, (ino, kind, name)) in entries.into_iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(ino), (i + 1) as u64, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn fsyncdir(&self, _req: &Request, _ino: INodeNo, _fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
        // Namespace changes are durable at once (see the module's doc).
        reply.ok();
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
        reply.ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_power_cut_discards_unsynced_writes_and_keeps_synced_ones() {
        let mut fs = LossyFs::mount().expect("the lossy filesystem mounts (needs /dev/fuse and root)");
        let synced = fs.path().join("synced");
        let unsynced = fs.path().join("unsynced");

        let mut f = File::create(&synced).unwrap();
        f.write_all(b"durable bytes").unwrap();
        f.sync_data().unwrap();
        // After the sync: an append and an overwrite of synced bytes.
        f.write_all(b" and an unsynced tail").unwrap();
        f.write_all_at(b"DURABLE", 0).unwrap();
        drop(f);
        let mut g = File::create(&unsynced).unwrap();
        g.write_all(b"never synced").unwrap();
        drop(g);
        assert_eq!(std::fs::read(&synced).unwrap(), b"DURABLE bytes and an unsynced tail");

        let discarded = fs.power_cut().unwrap();

        assert_eq!(std::fs::read(&synced).unwrap(), b"durable bytes", "the synced state, and only it");
        assert_eq!(std::fs::read(&unsynced).unwrap(), b"", "an unsynced file's data is gone");
        assert_eq!(discarded.files, 2);
        assert_eq!(discarded.bytes_cut, (" and an unsynced tail".len() + "never synced".len()) as u64);
        assert_eq!(discarded.bytes_restored, "DURABLE".len() as u64);

        // Synced after being written through several handles, and by
        // fsync rather than fdatasync: kept whole.
        let mut h = OpenOptions::new().append(true).open(&synced).unwrap();
        h.write_all(b", then more").unwrap();
        h.sync_all().unwrap();
        drop(h);
        fs.power_cut().unwrap();
        assert_eq!(std::fs::read(&synced).unwrap(), b"durable bytes, then more");
    }

    #[test]
    fn a_truncation_not_synced_is_undone() {
        let mut fs = LossyFs::mount().expect("the lossy filesystem mounts (needs /dev/fuse and root)");
        let path = fs.path().join("file");
        std::fs::write(&path, b"0123456789").unwrap();
        File::open(&path).unwrap().sync_all().unwrap();
        OpenOptions::new().write(true).open(&path).unwrap().set_len(3).unwrap();
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"xy").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"012xy");
        fs.power_cut().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"0123456789");
    }
}
