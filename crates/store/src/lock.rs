//! The store lock: one exclusive OFD lock (`F_OFD_SETLKW`) on `clusterca.lock`, a file that is
//! never replaced, so every process locks the same inode.
//!
//! OFD locks belong to the open file description, not the process: they are safe between
//! threads, are released when the file is closed (or the process dies, even by SIGKILL), and
//! are forwarded to the server on NFSv4. Waiting has a deadline: the blocking `fcntl` runs on
//! a helper thread that hands the locked file back over a channel; if the caller gave up, the
//! send fails, the file is dropped and the lock released at once. The holder writes who it is
//! into the file so a waiter that times out can name it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg};
use nix::libc;

use crate::error::{Error, IoContext};
use crate::fsutil::Dir;

/// Proof that this process holds the store lock; dropping it releases the lock.
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
}

fn whole_file(kind: libc::c_short) -> libc::flock {
    libc::flock {
        l_type: kind,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    }
}

/// Opens (creating) the lock file `name` in `dir`: a regular file with one link, never
/// through a symlink, mode 0600. Anyone who can open a lock file can hold a read lock on it,
/// which blocks every signer (an OFD read lock conflicts with the write lock), so only its
/// owner may: one found looser (made by an older clusterca) is tightened, where we may.
fn open_lock_file(dir: &Dir, name: &str) -> Result<File, Error> {
    use std::os::unix::fs::PermissionsExt;
    let file = dir.open_lock(name, 0o600)?;
    if file
        .metadata()
        .is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    {
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    Ok(file)
}

/// Takes the exclusive lock on `name` in `dir`, waiting at most `timeout`, then records
/// `holder`.
pub fn acquire(
    dir: &Dir,
    name: &str,
    timeout: Duration,
    holder: &str,
    owner: Option<crate::Owner>,
) -> Result<LockGuard, Error> {
    let start = Instant::now();
    let path = &dir.join(name);
    let file = open_lock_file(dir, name)?;
    let lock = whole_file(libc::F_WRLCK as libc::c_short);
    // Uncontended: no thread needed.
    let file = match fcntl(&file, FcntlArg::F_OFD_SETLK(&lock)) {
        Ok(_) => file,
        Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EACCES) => {
            drop(file);
            wait_for(dir, name, timeout, start)?
        }
        Err(e) => return Err(std::io::Error::from(e)).ctx("lock", path),
    };
    hold(file, path, holder, owner)
}

/// Records `holder` in the locked `file` (giving it to `owner` first) and returns the guard.
fn hold(
    file: File,
    path: &Path,
    holder: &str,
    owner: Option<crate::Owner>,
) -> Result<LockGuard, Error> {
    // Run as root in a directory owned by puppet, give the lock file to puppet too, so that
    // clusterca run as puppet can still open it for writing.
    if let Some(o) = owner {
        nix::unistd::fchown(
            &file,
            Some(nix::unistd::Uid::from_raw(o.uid)),
            Some(nix::unistd::Gid::from_raw(o.gid)),
        )
        .map_err(std::io::Error::from)
        .ctx("chown", path)?;
    }
    // Written over the old text, then cut to its length: usually the same length, so the
    // file keeps its block (a truncation to 0 first frees and reallocates it: 0.3 ms a lock).
    file.write_all_at(holder.as_bytes(), 0)
        .ctx("write lock holder to", path)?;
    file.set_len(holder.len() as u64)
        .ctx("write lock holder to", path)?;
    Ok(LockGuard { _file: file })
}

/// Takes the lock on `name` in `dir` if it is free now; `None` when another process holds it.
pub fn try_acquire(
    dir: &Dir,
    name: &str,
    holder: &str,
    owner: Option<crate::Owner>,
) -> Result<Option<LockGuard>, Error> {
    let path = &dir.join(name);
    let file = open_lock_file(dir, name)?;
    let lock = whole_file(libc::F_WRLCK as libc::c_short);
    match fcntl(&file, FcntlArg::F_OFD_SETLK(&lock)) {
        Ok(_) => hold(file, path, holder, owner).map(Some),
        Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EACCES) => Ok(None),
        Err(e) => Err(std::io::Error::from(e)).ctx("lock", path),
    }
}

/// Takes a *shared* (read) lock on `name` in `dir` if no exclusive lock is held now: any number
/// of shared holders may hold it together (`serve --shared`), and an exclusive holder (a
/// non-shared `serve`) excludes them all. `None` when an exclusive holder has it. A shared
/// holder writes nothing into the file: the others may be reading it.
pub fn try_acquire_shared(dir: &Dir, name: &str) -> Result<Option<LockGuard>, Error> {
    let path = &dir.join(name);
    let file = open_lock_file(dir, name)?;
    let lock = whole_file(libc::F_RDLCK as libc::c_short);
    match fcntl(&file, FcntlArg::F_OFD_SETLK(&lock)) {
        Ok(_) => Ok(Some(LockGuard { _file: file })),
        Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EACCES) => Ok(None),
        Err(e) => Err(std::io::Error::from(e)).ctx("lock", path),
    }
}

/// Whether the lock on `name` in `dir` is held shared now (by `serve --shared` servers).
pub fn held_shared(dir: &Dir, name: &str) -> bool {
    let Ok(Some(file)) = dir.open_lock_readonly(name) else {
        return false;
    };
    let mut probe = whole_file(libc::F_WRLCK as libc::c_short);
    fcntl(&file, FcntlArg::F_OFD_GETLK(&mut probe)).is_ok()
        && probe.l_type == libc::F_RDLCK as libc::c_short
}

/// Takes the lock on `name` in `dir`, blocking this thread for as long as another holds it.
pub fn acquire_blocking(
    dir: &Dir,
    name: &str,
    holder: &str,
    owner: Option<crate::Owner>,
) -> Result<LockGuard, Error> {
    let path = &dir.join(name);
    let file = open_lock_file(dir, name)?;
    let lock = whole_file(libc::F_WRLCK as libc::c_short);
    fcntl(&file, FcntlArg::F_OFD_SETLKW(&lock))
        .map_err(std::io::Error::from)
        .ctx("lock", path)?;
    hold(file, path, holder, owner)
}

fn wait_for(dir: &Dir, name: &str, timeout: Duration, start: Instant) -> Result<File, Error> {
    let (tx, rx) = mpsc::sync_channel::<Result<File, Error>>(1);
    let (owned, owned_name) = (dir.clone(), name.to_owned());
    std::thread::spawn(move || {
        let result = open_lock_file(&owned, &owned_name).and_then(|file| {
            let lock = whole_file(libc::F_WRLCK as libc::c_short);
            fcntl(&file, FcntlArg::F_OFD_SETLKW(&lock))
                .map(|_| file)
                .map_err(std::io::Error::from)
                .ctx("lock", &owned.join(&owned_name))
        });
        // If the waiter has gone, this fails and the file (with its lock) is dropped here.
        let _ = tx.send(result);
    });
    match rx.recv_timeout(timeout.saturating_sub(start.elapsed())) {
        Ok(result) => result,
        Err(_) => Err(Error::Busy {
            path: dir.join(name),
            holder: holder_of(dir, name),
            waited_secs: start.elapsed().as_secs_f64(),
        }),
    }
}

/// What the current holder wrote into the lock file `name` in `dir`, on one line.
pub fn holder_of(dir: &Dir, name: &str) -> String {
    match dir
        .read_bounded(name, 4096)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
    {
        Ok(s) if !s.trim().is_empty() => describe_holder(&s.trim().replace('\n', " ")),
        _ => "an unknown process".into(),
    }
}

/// What a lock file says of its holder (`pid N on HOST since TIME`), unless that process is
/// on this host and has exited: then the lock is held by another that did not write its name
/// (a `serve --shared` member holds the lease without writing), and naming the dead one
/// would send an operator after the wrong process.
fn describe_holder(text: &str) -> String {
    let named = text
        .strip_prefix("pid ")
        .and_then(|rest| rest.split_once(" on "))
        .and_then(|(pid, rest)| Some((pid.parse::<i32>().ok()?, rest.split(" since ").next()?)));
    let this_host = nix::unistd::gethostname().ok();
    match named {
        Some((pid, host))
            if pid > 0
                && this_host.is_some_and(|h| h.to_string_lossy() == host)
                && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
                    == Err(nix::errno::Errno::ESRCH) =>
        {
            format!("a process that did not name itself (the lock file still names {text}, which has exited)")
        }
        _ => text.to_owned(),
    }
}

/// Whether another open file description holds a lock on `name` in `dir` now. Opens the
/// file read-only and never creates it: `check` runs without writing anything.
pub fn is_held(dir: &Dir, name: &str) -> bool {
    let Ok(Some(file)) = dir.open_lock_readonly(name) else {
        return false;
    };
    let mut probe = whole_file(libc::F_WRLCK as libc::c_short);
    fcntl(&file, FcntlArg::F_OFD_GETLK(&mut probe)).is_ok()
        && probe.l_type != libc::F_UNLCK as libc::c_short
}

#[cfg(test)]
mod tests {
    use super::describe_holder;

    #[test]
    fn a_holder_that_has_exited_is_not_named_as_the_holder() {
        let host = nix::unistd::gethostname()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let text = format!("pid {dead} on {host} since 2026-11-30T10:00:00Z");
        assert_eq!(
            describe_holder(&text),
            format!("a process that did not name itself (the lock file still names {text}, which has exited)")
        );
        // Alive, or on another host (which cannot be asked): as written.
        let alive = format!(
            "pid {} on {host} since 2026-11-30T10:00:00Z",
            std::process::id()
        );
        assert_eq!(describe_holder(&alive), alive);
        let elsewhere = format!("pid {dead} on not-{host} since 2026-11-30T10:00:00Z");
        assert_eq!(describe_holder(&elsewhere), elsewhere);
        assert_eq!(describe_holder("something else"), "something else");
    }
}
