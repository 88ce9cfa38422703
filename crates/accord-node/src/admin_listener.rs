//! The admin listener's socket (`[admin] listen`): bound on loopback or as
//! a Unix socket only its owner may open, recorded in the data directory's
//! `admin.addr` for the operator's commands, and removed at shutdown.

use crate::config::AdminListen;
use crate::http::serve::Listener;
use std::io;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::Path;

/// The mode of the admin socket: its owner only.
pub(crate) const SOCKET_MODE: u32 = 0o600;

/// Binds the admin listener at `at` (a socket path already resolved
/// against the data directory); the listener and where it is bound.
///
/// A Unix socket is bound under a temporary name in its directory, given
/// mode 0600, then renamed into place, so that nobody else can open it in
/// between. A socket file left by a node that did not stop cleanly (one
/// nobody answers on) is replaced; a live one, or any other kind of file,
/// is an error.
pub(crate) async fn bind(at: &AdminListen) -> io::Result<(Listener, AdminListen)> {
    match at {
        AdminListen::Tcp(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            let bound = listener.local_addr()?;
            Ok((Listener::Tcp(listener), AdminListen::Tcp(bound)))
        }
        AdminListen::Unix(path) => {
            if let Ok(meta) = std::fs::symlink_metadata(path) {
                if !meta.file_type().is_socket() {
                    return Err(io::Error::new(io::ErrorKind::AlreadyExists, "a file that is not a socket is there"));
                }
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(io::Error::new(io::ErrorKind::AddrInUse, "another process listens there"));
                }
                std::fs::remove_file(path)?;
            }
            let name = path.file_name().ok_or_else(|| io::Error::other("the path names no file"))?;
            let staging = path.with_file_name(format!(".{}.{}", name.to_string_lossy(), std::process::id()));
            let _ = std::fs::remove_file(&staging);
            let listener = tokio::net::UnixListener::bind(&staging)?;
            let placed = std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(SOCKET_MODE))
                .and_then(|()| std::fs::rename(&staging, path));
            if let Err(e) = placed {
                let _ = std::fs::remove_file(&staging);
                return Err(e);
            }
            Ok((Listener::Unix(listener), AdminListen::Unix(path.clone())))
        }
    }
}

/// Writes where the admin listener is bound to `file` (`admin.addr`),
/// replacing it whole.
pub(crate) fn record(file: &Path, bound: &AdminListen) -> io::Result<()> {
    let staging = file.with_extension("addr.new");
    std::fs::write(&staging, format!("{bound}\n"))?;
    std::fs::rename(&staging, file)
}

/// Removes `admin.addr` and the admin socket, once the listener is closed.
pub(crate) fn release(file: &Path, bound: &AdminListen) {
    let _ = std::fs::remove_file(file);
    if let AdminListen::Unix(path) = bound {
        let _ = std::fs::remove_file(path);
    }
}
