//! Fault injection for the crash-safety tests, compiled only with the `fault-injection`
//! feature: `INKSEAL_FAULT=<step>` aborts the process at that step, as a kill would. Without
//! the feature every hook is an empty inline function.

/// Aborts the process if `INKSEAL_FAULT` names `step` (`reserved`, `written`, `staged`,
/// `renamed` in `mark`).
#[cfg(feature = "fault-injection")]
pub(crate) fn point(step: &str) {
    if std::env::var("INKSEAL_FAULT").is_ok_and(|v| v == step) {
        std::process::abort();
    }
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn point(_step: &str) {}

/// `INKSEAL_FAULT=scan-lines:N`: the scan state aborts the process once this run has written
/// N lines to it (its session line included).
#[cfg(feature = "fault-injection")]
pub(crate) fn scan_line_limit() -> Option<u64> {
    std::env::var("INKSEAL_FAULT")
        .ok()?
        .strip_prefix("scan-lines:")?
        .parse()
        .ok()
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn scan_line_limit() -> Option<u64> {
    None
}

/// `INKSEAL_PEAK_RSS=<file>`: the shell calls this as it exits, and the process's peak
/// resident set (`VmHWM` of `/proc/self/status`, in kB) is written to that file, so that a
/// test can bound the memory a command took.
#[cfg(feature = "fault-injection")]
pub fn at_exit() {
    let Some(path) = std::env::var_os("INKSEAL_PEAK_RSS") else {
        return;
    };
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1).map(str::to_string)
        })
        .unwrap_or_default();
    let _ = std::fs::write(path, peak);
}

/// Without the `fault-injection` feature: nothing.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn at_exit() {}

/// Aborts the process (only reachable with the feature on).
pub(crate) fn abort() -> ! {
    std::process::abort()
}
