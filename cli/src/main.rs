//! The `inkseal` command line: mark images with a work ID and find the marks again.
//!
//! The binary is thin: `opts` parses the command line, one `cmd_*` module runs each
//! subcommand, `io` reads and writes image files and `output` prints results.

mod cmd_detect;
mod cmd_embed;
mod cmd_key;
mod fsutil;
mod io;
mod opts;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::opts::{Command, KeyCommand, Opts};

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
    };
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
