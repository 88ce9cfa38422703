//! The memory allocator's settings a node process runs with.
//!
//! A node's work comes in bursts: thousands of events a second are
//! parsed, verified, batched and written, and then the node is quiet.
//! glibc's allocator, left to its defaults, keeps what a burst freed:
//! each thread that allocates may get an arena of its own (up to eight per
//! core), and after a large block is freed it raises the size above which
//! blocks are mapped on their own, so later large blocks come from the
//! arenas and stay there once freed. A node loaded with a million messages
//! held 137 MB that way, of which about 65 MB were in use.
//!
//! The node therefore runs with two arenas and fixed thresholds: blocks
//! of 1 MiB and more are mapped on their own and returned when freed, and
//! free memory above 4 MiB at an arena's top is returned. (Thresholds of
//! 128 KiB gave back about 4 MB more but made a restart on a million
//! messages three times slower: the reads that take each room up allocate
//! and free blocks of between 512 KiB and 1 MiB, which were then mapped and
//! zeroed every time.) glibc reads `GLIBC_TUNABLES` only when a process
//! starts, so [`reexec_with_settings`] starts the node's own binary again,
//! in place (same process id, arguments and environment), with them set. An
//! operator who sets `GLIBC_TUNABLES` keeps exactly what they set.
//! Elsewhere than Linux with glibc nothing happens.

/// The environment variable through which glibc reads its settings.
pub const TUNABLES_VAR: &str = "GLIBC_TUNABLES";

/// The settings a node runs with, in `GLIBC_TUNABLES`' syntax.
pub const NODE_TUNABLES: &str =
    "glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=1048576:glibc.malloc.trim_threshold=4194304";

/// Replaces the current process by its own binary, run with the same
/// arguments and [`NODE_TUNABLES`], unless `GLIBC_TUNABLES` is set already
/// (by the operator, or by this call before the replacement). Returns only
/// when nothing was replaced: `Ok` when the settings are in place or do
/// not apply here, the error when the binary could not be started again.
pub fn reexec_with_settings() -> std::io::Result<()> {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) || std::env::var_os(TUNABLES_VAR).is_some() {
        return Ok(());
    }
    reexec()
}

#[cfg(unix)]
fn reexec() -> std::io::Result<()> {
    use std::os::unix::process::CommandExt as _;
    let exe = std::env::current_exe()?;
    let mut args = std::env::args_os();
    let mut command = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        command.arg0(arg0);
    }
    Err(command.args(args).env(TUNABLES_VAR, NODE_TUNABLES).exec())
}

#[cfg(not(unix))]
fn reexec() -> std::io::Result<()> {
    Ok(())
}
