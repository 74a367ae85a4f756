//! The `inkseal` command line: mark works (watermark, Content Credentials, registry), find the
//! marks again and verify credentials.
//!
//! The binary is a shell: `opts` parses the command line, one `cmd_*` module calls the
//! workflow in `inkseal-core` for each subcommand and prints what it returns (`output`),
//! with a progress bar where one helps.

mod cmd_credentials;
mod cmd_detect;
mod cmd_embed;
mod cmd_key;
mod cmd_mark;
mod cmd_scan;
mod cmd_verify;
mod cmd_works;
mod opts;
mod output;
mod store;

use std::process::ExitCode;

use clap::Parser;

use crate::opts::{Command, CredentialsCommand, KeyCommand, Opts};

/// How a command ended, mapped to exit codes as grep does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything worked and every input held a mark (exit 0).
    Ok,
    /// Some input held no mark (exit 1).
    NotFound,
    /// Some input could not be processed (exit 2).
    Error,
}

impl Outcome {
    /// The outcome of a command over many files: errors win over missing results.
    pub fn of(any_error: bool, any_missing: bool) -> Outcome {
        if any_error {
            Outcome::Error
        } else if any_missing {
            Outcome::NotFound
        } else {
            Outcome::Ok
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        match outcome {
            Outcome::Ok => ExitCode::SUCCESS,
            Outcome::NotFound => ExitCode::from(1),
            Outcome::Error => ExitCode::from(2),
        }
    }
}

fn main() -> ExitCode {
    // Clap prints its own message and exits with 2 on usage errors.
    let opts = Opts::parse();
    let result = match opts.command {
        Command::Embed(o) => cmd_embed::run(&o),
        Command::Detect(o) => cmd_detect::run(&o),
        Command::Key(KeyCommand::New(o)) => cmd_key::run_new(&o),
        Command::Mark(o) => cmd_mark::run(&o),
        Command::Verify(o) => cmd_verify::run(&o),
        Command::Scan(o) => cmd_scan::run(&o),
        Command::Works(c) => cmd_works::run(&c),
        Command::Credentials(CredentialsCommand::New(o)) => cmd_credentials::run_new(&o),
    };
    inkseal_core::test_hook_at_exit();
    match result {
        Ok(outcome) => outcome.into(),
        // A reader that went away (`inkseal detect … | head -1`) is not an error.
        Err(err) if output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            output::error(&err);
            Outcome::Error.into()
        }
    }
}
