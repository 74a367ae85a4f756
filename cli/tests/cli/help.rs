//! `--help` shows an example for every subcommand.

use predicates::prelude::*;

use crate::support::*;

#[test]
fn every_subcommand_help_has_an_example() {
    for args in [
        &["--help"][..],
        &["embed", "--help"],
        &["detect", "--help"],
        &["key", "--help"],
        &["key", "new", "--help"],
        &["scan", "--help"],
    ] {
        inkseal()
            .args(args)
            .assert()
            .success()
            .stdout(predicate::str::contains("Example"))
            .stdout(predicate::str::contains("inkseal "));
    }
}

#[test]
fn embed_help_shows_its_example_invocation() {
    inkseal()
        .args(["embed", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("inkseal embed painting.png -o"));
    inkseal()
        .args(["detect", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("inkseal detect"));
    inkseal()
        .args(["key", "new", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("inkseal key new -o"));
}
