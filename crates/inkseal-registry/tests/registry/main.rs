//! Integration tests of the registry: the mark protocol, concurrency across threads and
//! processes, crash recovery with killed processes, locking, damaged files, export/import.
//! Shared helpers and the child-process entry point live here, the tests in the modules.

mod concurrency;
mod damage;
mod protocol;
mod recovery;
mod transfer;

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use inkseal_registry::{Error, NewWork, OpenOptions, Registry, Staged, Work};
use sha2::{Digest as _, Sha256};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Set in a child process started by these tests: what the child should do.
const CHILD_MODE: &str = "INKSEAL_REGISTRY_CHILD";
/// The registry file a child uses.
const CHILD_REGISTRY: &str = "INKSEAL_REGISTRY_CHILD_PATH";
/// The folder a child writes its files into.
const CHILD_DIR: &str = "INKSEAL_REGISTRY_CHILD_DIR";

fn new_work(n: usize) -> NewWork {
    NewWork {
        title: format!("Work {n}"),
        artist: "A. Painter".into(),
        license: n
            .is_multiple_of(2)
            .then(|| "https://creativecommons.org/licenses/by-nc/4.0/".into()),
        training_allowed: n.is_multiple_of(3),
        key_id: "00112233aabbccdd".into(),
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn temp_name(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!(".work-{id:016x}.png.tmp"))
}

fn output_name(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("work-{id:016x}.png"))
}

fn content(id: u64) -> Vec<u8> {
    format!("marked image of work {id:016x}").into_bytes()
}

/// Writes the temporary file and stages it (steps 1 and 2 after `reserve`).
fn write_and_stage(
    registry: &mut Registry,
    dir: &Path,
    id: u64,
) -> inkseal_registry::Result<Staged> {
    let bytes = content(id);
    let staged = Staged {
        sha256: sha256(&bytes),
        phash: id.rotate_left(7),
        manifest: [b"manifest\0".as_slice(), &id.to_le_bytes()].concat(),
        output_path: output_name(dir, id),
        temp_path: temp_name(dir, id),
    };
    std::fs::write(&staged.temp_path, &bytes).map_err(|e| Error::Io {
        path: staged.temp_path.clone(),
        source: e,
    })?;
    registry.stage(id, &staged)?;
    Ok(staged)
}

/// The whole protocol for one work.
fn mark(registry: &mut Registry, dir: &Path, n: usize) -> Result<u64, Box<dyn std::error::Error>> {
    let id = registry.reserve(&new_work(n))?;
    let staged = write_and_stage(registry, dir, id)?;
    std::fs::rename(&staged.temp_path, &staged.output_path)?;
    registry.complete(id)?;
    Ok(id)
}

fn ids(works: &[Work]) -> BTreeSet<u64> {
    works.iter().map(|w| w.id).collect()
}

// ---------------------------------------------------------------------------------------------
// Child processes: the test binary runs itself with CHILD_MODE set; this test is the child.

/// Entry point of child processes; does nothing in a normal test run.
#[test]
fn child_main() -> TestResult {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return Ok(());
    };
    let path = PathBuf::from(std::env::var(CHILD_REGISTRY)?);
    let dir = PathBuf::from(std::env::var(CHILD_DIR)?);
    let mut registry = Registry::open(&path)?;
    let mut out = std::io::stdout().lock();
    match mode.as_str() {
        "mark25" => {
            for n in 0..25 {
                let id = mark(&mut registry, &dir, n)?;
                writeln!(out, "ID {id:016x}")?;
            }
        }
        "exit-after-stage" => {
            // Dies (exits without completing or abandoning) right after staging.
            let id = registry.reserve(&new_work(0))?;
            write_and_stage(&mut registry, &dir, id)?;
            writeln!(out, "ID {id:016x}")?;
            out.flush()?;
            std::process::exit(0);
        }
        hold => {
            let id = registry.reserve(&new_work(0))?;
            match hold {
                "hold-reserved" => {}
                "hold-writing" => {
                    // Recorded the paths, killed halfway through writing the temporary file.
                    registry.record_paths(id, &temp_name(&dir, id), &output_name(&dir, id))?;
                    std::fs::write(temp_name(&dir, id), b"half a PNG")?;
                }
                "hold-staged" => {
                    write_and_stage(&mut registry, &dir, id)?;
                }
                "hold-renamed" => {
                    let staged = write_and_stage(&mut registry, &dir, id)?;
                    std::fs::rename(&staged.temp_path, &staged.output_path)?;
                }
                other => return Err(format!("unknown child mode {other}").into()),
            }
            writeln!(out, "READY {id:016x}")?;
            out.flush()?;
            // Wait to be killed: the parent never closes our stdin first.
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
        }
    }
    Ok(())
}

fn child(mode: &str, registry: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap_or_default());
    cmd.args([
        "--exact",
        "child_main",
        "--nocapture",
        "--test-threads=1",
        "--quiet",
    ])
    .env(CHILD_MODE, mode)
    .env(CHILD_REGISTRY, registry)
    .env(CHILD_DIR, dir)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    cmd
}

/// Work IDs a child printed as `<tag> <16 hex digits>` lines.
fn parse_ids(text: &str, tag: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| l.strip_prefix(tag)?.strip_prefix(' '))
        .filter_map(|h| u64::from_str_radix(h.trim(), 16).ok())
        .collect()
}
