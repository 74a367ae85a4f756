//! Leases: which pending rows a running process still works on.
//!
//! A pending row records its owner process (pid, start time, scope) *and* the token of a
//! [`Lease`]. Other processes judge the row by the process alone. The owning process itself
//! also knows which of its leases are alive: a row whose lease was dropped (its `mark`
//! failed and could not even abandon the row, or the thread unwound) is abandoned even
//! though the process still runs, so a process that lives long (a Python session, a server,
//! a batch of marks) cleans up after itself instead of holding stale rows until it exits.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

/// The tokens of this process's live leases.
static LIVE: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Ownership of pending rows by one piece of work in this process. Rows reserved under a
/// lease are in progress while it lives; once it is dropped, [`Registry::recover`] in this
/// process settles them like those of a dead process.
///
/// [`Registry::recover`]: crate::Registry::recover
#[derive(Debug)]
pub struct Lease {
    token: String,
}

impl Lease {
    /// A new live lease with a random token.
    pub fn new() -> Lease {
        let token = format!("{:032x}", rand::random::<u128>());
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.clone());
        Lease { token }
    }

    /// The token stored in the rows this lease owns.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl Default for Lease {
    fn default() -> Self {
        Lease::new()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.token);
    }
}

/// Whether `token` belongs to a lease of this process that is still alive.
pub(crate) fn is_live(token: &str) -> bool {
    LIVE.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .contains(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_live_until_dropped() {
        let a = Lease::new();
        let b = Lease::new();
        assert_ne!(a.token(), b.token());
        let token = a.token().to_string();
        assert!(is_live(&token));
        drop(a);
        assert!(!is_live(&token));
        assert!(is_live(b.token()));
    }
}
