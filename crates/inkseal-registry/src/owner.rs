//! Which process owns a pending work, and whether it is still running.
//!
//! A pending row records the owner's pid, its start time and a *scope* (on Linux the boot ID
//! and the pid namespace). Within the same scope, a process with that pid and start time is
//! alive; a missing pid, or a pid now used by a process that started at another time, is
//! proof the owner is gone. Outside the scope (another machine, container or boot, or a
//! platform without `/proc`) nothing can be proved, and only age decides.

use std::time::Duration;

/// The identity of a process as stored in a pending row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) pid: i64,
    pub(crate) start: Option<i64>,
    pub(crate) scope: Option<String>,
    /// The token of the [`Lease`](crate::Lease) the row was reserved under (none in rows
    /// written before schema version 2).
    pub(crate) token: Option<String>,
}

/// What we can tell about an owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Liveness {
    /// The owning process is running.
    Alive,
    /// The owning process has certainly exited.
    Dead,
    /// Cannot tell (other scope or platform): fall back to age.
    Unknown,
}

/// This process.
pub(crate) fn current() -> Owner {
    let pid = i64::from(std::process::id());
    let start = start_time(pid);
    let scope = start.and(scope());
    Owner {
        pid,
        start,
        scope,
        token: None,
    }
}

/// Whether a pending row owned by `owner`, reserved at `reserved_unix`, may be recovered.
pub(crate) fn is_abandoned(
    owner: &Owner,
    reserved_unix: i64,
    now_unix: i64,
    stale: Duration,
) -> bool {
    match liveness(owner) {
        // This very process: the row is in progress only while its lease lives.
        Liveness::Alive if owner.pid == i64::from(std::process::id()) => owner
            .token
            .as_deref()
            .is_some_and(|token| !crate::lease::is_live(token)),
        Liveness::Alive => false,
        Liveness::Dead => true,
        Liveness::Unknown => {
            let stale = i64::try_from(stale.as_secs()).unwrap_or(i64::MAX);
            now_unix.saturating_sub(reserved_unix) >= stale
        }
    }
}

/// Whether the process `owner` is still running, as far as this process can tell.
pub(crate) fn liveness(owner: &Owner) -> Liveness {
    let here = current_scope();
    match (&owner.scope, &here, owner.start) {
        (Some(theirs), Some(ours), Some(start)) if theirs == ours => {
            match read_stat(owner.pid) {
                // A zombie has exited; only its parent has not collected it yet.
                Ok(Some((state, _))) if state == 'Z' || state == 'X' => Liveness::Dead,
                Ok(Some((_, now))) if now == start => Liveness::Alive,
                // Same pid, different start: the pid was reused, the owner is gone.
                Ok(Some(_)) => Liveness::Dead,
                Ok(None) => Liveness::Unknown,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Liveness::Dead,
                Err(_) => Liveness::Unknown,
            }
        }
        _ => Liveness::Unknown,
    }
}

fn current_scope() -> Option<String> {
    start_time(i64::from(std::process::id())).and(scope())
}

fn start_time(pid: i64) -> Option<i64> {
    read_stat(pid).ok().flatten().map(|(_, start)| start)
}

/// The state (field 3) and start time in clock ticks since boot (field 22) of
/// `/proc/<pid>/stat`. `Err(NotFound)` means there is no such process.
#[cfg(target_os = "linux")]
fn read_stat(pid: i64) -> std::io::Result<Option<(char, i64)>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) is in parentheses and may itself contain ") ".
    let Some(close) = stat.rfind(')') else {
        return Ok(None);
    };
    let mut fields = stat[close + 1..].split_ascii_whitespace();
    let state = fields.next().and_then(|f| f.chars().next());
    // `fields` now starts at field 4.
    let start = fields.nth(22 - 4).and_then(|f| f.parse().ok());
    Ok(state.zip(start))
}

#[cfg(not(target_os = "linux"))]
fn read_stat(_pid: i64) -> std::io::Result<Option<(char, i64)>> {
    Ok(None)
}

/// The boot ID and pid namespace: pids and start times compare only within one scope.
#[cfg(target_os = "linux")]
fn scope() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("linux {} {}", boot.trim(), ns.display()))
}

#[cfg(not(target_os = "linux"))]
fn scope() -> Option<String> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn this_process_is_alive() {
        let me = current();
        assert!(me.start.is_some() && me.scope.is_some(), "{me:?}");
        assert_eq!(liveness(&me), Liveness::Alive);
        assert!(!is_abandoned(&me, 0, i64::MAX, HOUR));
    }

    #[test]
    fn this_process_abandons_rows_whose_lease_is_gone() {
        let lease = crate::Lease::new();
        let mut me = current();
        me.token = Some(lease.token().to_string());
        assert!(!is_abandoned(&me, 0, 0, HOUR));
        drop(lease);
        assert!(is_abandoned(&me, 0, 0, HOUR));
        // Without a token (rows of schema version 1) only the process counts.
        me.token = None;
        assert!(!is_abandoned(&me, 0, 0, HOUR));
    }

    #[test]
    fn reused_pid_is_dead() {
        let mut other = current();
        other.start = other.start.map(|s| s + 1);
        assert_eq!(liveness(&other), Liveness::Dead);
        assert!(is_abandoned(&other, 100, 100, HOUR));
    }

    #[test]
    fn exited_child_is_dead() {
        let Ok(mut child) = std::process::Command::new("true").spawn() else {
            // No `true` binary: nothing to test here.
            return;
        };
        let pid = i64::from(child.id());
        let start = start_time(pid);
        assert!(child.wait().is_ok());
        // After `wait` the child is reaped: its /proc entry is gone.
        let owner = Owner {
            pid,
            start: Some(start.unwrap_or(0)),
            scope: current().scope,
            token: None,
        };
        assert_eq!(liveness(&owner), Liveness::Dead);
    }

    #[test]
    fn other_scope_falls_back_to_age() {
        let mut other = current();
        other.scope = Some("elsewhere".into());
        assert_eq!(liveness(&other), Liveness::Unknown);
        assert!(!is_abandoned(&other, 1000, 1000 + 3599, HOUR));
        assert!(is_abandoned(&other, 1000, 1000 + 3600, HOUR));
        let no_scope = Owner {
            pid: 1,
            start: None,
            scope: None,
            token: None,
        };
        assert_eq!(liveness(&no_scope), Liveness::Unknown);
    }
}
