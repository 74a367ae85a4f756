//! End-to-end tests of the `inkseal` binary: one test binary, a module per subcommand.
//!
//! Tests marked "needs the watermark" depend on `inkseal-mark` actually embedding and
//! detecting; the others only exercise the command line and must pass regardless.

#[path = "cli/support.rs"]
mod support;
#[path = "cli/surgery.rs"]
mod surgery;

#[path = "cli/bad_input.rs"]
mod bad_input;
#[path = "cli/batch.rs"]
mod batch;
#[path = "cli/crash.rs"]
mod crash;
#[path = "cli/credentials.rs"]
mod credentials;
#[path = "cli/detect.rs"]
mod detect;
#[path = "cli/embed.rs"]
mod embed;
#[path = "cli/escape.rs"]
mod escape;
#[path = "cli/help.rs"]
mod help;
#[path = "cli/hostile.rs"]
mod hostile;
#[path = "cli/identity.rs"]
mod identity;
#[path = "cli/key.rs"]
mod key;
#[path = "cli/mark.rs"]
mod mark;
#[path = "cli/scan.rs"]
mod scan;
#[path = "cli/tamper.rs"]
mod tamper;
#[path = "cli/verify.rs"]
mod verify;
#[path = "cli/works.rs"]
mod works;
