//! The daemon settling in before its first scan: lowest CPU and I/O priority
//! (CCSC 1: never disturb the control function) and, when started as root
//! without a service manager, dropping to the configured user with only
//! `CAP_DAC_READ_SEARCH` (read anything, write nothing it does not own).
//!
//! This is the agent's one module with `unsafe`: `setpriority(2)` and
//! `ioprio_set(2)` have no safe wrapper in libc or nix. Each call passes only
//! integers and is checked for its return value. User switching and
//! capabilities use the safe APIs of `nix` and `caps`.
#![allow(unsafe_code)]

use crate::config::Config;
use caps::{CapSet, Capability};

/// I/O priority class "idle" (linux/ioprio.h), shifted into place.
const IOPRIO_CLASS_IDLE: libc::c_int = 3 << 13;
const IOPRIO_WHO_PROCESS: libc::c_int = 1;

/// Sets the nice value of the process (inherited by threads created later).
pub fn set_nice(n: i32) -> Result<(), String> {
    // SAFETY: plain integer arguments; PRIO_PROCESS with who = 0 is the caller.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, n) };
    if r != 0 {
        return Err(format!(
            "setpriority({n}): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Puts the process into the idle I/O scheduling class.
pub fn set_io_idle() -> Result<(), String> {
    // SAFETY: ioprio_set(which, who, ioprio) takes three integers; who = 0 is the caller.
    let r = unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0,
            IOPRIO_CLASS_IDLE,
        )
    };
    if r != 0 {
        return Err(format!(
            "ioprio_set(idle): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Current nice value (for tests and the startup log line).
pub fn nice() -> i32 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Field 19 (nice), counted after the parenthesised command name.
            let after = s.rsplit_once(')')?.1;
            after.split_whitespace().nth(16)?.parse().ok()
        })
        .unwrap_or(0)
}

/// Switches to `user` keeping only CAP_DAC_READ_SEARCH (permitted,
/// effective, inheritable and ambient; the bounding set reduced to it), with
/// no_new_privs set. Must be called while still single-threaded.
pub fn drop_privileges(user: &str) -> Result<(), String> {
    use nix::unistd::{setgid, setgroups, setuid, User};
    let u = User::from_name(user)
        .map_err(|e| format!("user {user:?}: {e}"))?
        .ok_or_else(|| {
            format!("user {user:?} does not exist (create a system user for the agent)")
        })?;
    if u.uid.is_root() {
        return Err(format!("privileges.user {user:?} is root"));
    }
    let keep = Capability::CAP_DAC_READ_SEARCH;
    for c in caps::all() {
        if c != keep {
            caps::drop(None, CapSet::Bounding, c).map_err(|e| format!("bounding set: {e}"))?;
        }
    }
    nix::sys::prctl::set_keepcaps(true).map_err(|e| format!("PR_SET_KEEPCAPS: {e}"))?;
    setgroups(&[u.gid]).map_err(|e| format!("setgroups: {e}"))?;
    setgid(u.gid).map_err(|e| format!("setgid: {e}"))?;
    setuid(u.uid).map_err(|e| format!("setuid: {e}"))?;
    let only: caps::CapsHashSet = [keep].into_iter().collect();
    for set in [CapSet::Permitted, CapSet::Effective, CapSet::Inheritable] {
        caps::set(None, set, &only).map_err(|e| format!("capabilities ({set:?}): {e}"))?;
    }
    caps::raise(None, CapSet::Ambient, keep).map_err(|e| format!("ambient capability: {e}"))?;
    nix::sys::prctl::set_keepcaps(false).map_err(|e| format!("PR_SET_KEEPCAPS: {e}"))?;
    nix::sys::prctl::set_no_new_privs().map_err(|e| format!("PR_SET_NO_NEW_PRIVS: {e}"))?;
    Ok(())
}

/// Politeness and, as root, the privilege drop; then checks that the agent
/// can still read `/etc/shadow` (the default-credential rules need it).
pub fn settle_in(cfg: &Config) -> Result<(), String> {
    // The service manager may have lowered the priority already (the unit's
    // Nice=, whose syscall filter then refuses setpriority): never raise it.
    if nice() < cfg.nice {
        set_nice(cfg.nice)?;
    }
    if cfg.io_idle {
        // Refused under the unit's filter (IOSchedulingClass=idle is set
        // there) and ignored by I/O schedulers without classes: not fatal.
        if let Err(e) = set_io_idle() {
            tracing::debug!("{e}");
        }
    }
    let root = nix::unistd::geteuid().is_root();
    match (&cfg.user, root) {
        (Some(user), true) => {
            drop_privileges(user)?;
            let shadow = cfg.root.join("etc/shadow");
            if shadow.exists() {
                std::fs::File::open(&shadow).map_err(|e| {
                    format!(
                        "{} unreadable after dropping to {user:?}: {e}",
                        shadow.display()
                    )
                })?;
            }
            tracing::info!(
                user,
                nice = nice(),
                "running unprivileged with CAP_DAC_READ_SEARCH only"
            );
        }
        (None, true) => tracing::warn!(
            "running as root: set privileges.user (or run under the shipped systemd unit)"
        ),
        _ => tracing::info!(nice = nice(), "running unprivileged"),
    }
    Ok(())
}
