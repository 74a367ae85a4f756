//! The resume state of a scan: a JSON Lines log of every finished input's records.
//!
//! Layout: a header line naming the scan's settings, then for each input its records (one
//! [`Record`] per line) followed by a `done` line naming the input, its size and modification
//! time. A `session` line starts every run and names that run's partial report file. Only
//! inputs whose `done` line is complete count as finished: a killed scan leaves at most one
//! unfinished group (or half a line) at the end, which the next run cuts off and scans again.
//! Finished inputs are replayed from the log, so a resumed scan ends with the same report as
//! an uninterrupted one, without holding the records in memory.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use inkseal_scan::{Input, Record};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, fault};

/// The format version in the header.
const VERSION: u32 = 1;
/// A header line longer than this is not ours.
const MAX_HEADER: u64 = 64 << 10;
/// How often the log is forced to disk while scanning (it is always flushed to the OS after
/// each input, which is what survives a killed process).
const SYNC_EVERY_SECS: f64 = 2.0;

/// What a state file is bound to: resuming with other settings would mix two scans.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The ID of the watermark key.
    pub key_id: String,
    /// The Parquet column named on the command line.
    pub column: Option<String>,
    /// The member size cap.
    pub max_member_bytes: u64,
    /// The Parquet columns carried into the records (absent in state files made before
    /// there were any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    inkseal_scan_state: u32,
    #[serde(flatten)]
    settings: Settings,
}

/// The lines after the header that are not records.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Mark {
    /// The end of one input's records.
    Done {
        input: String,
        size: u64,
        modified_ns: u64,
        samples: u64,
        seconds: f64,
    },
    /// The start of a run.
    Session { partial_report: Option<PathBuf> },
    /// The end of an input that could not be identified; its records do not count.
    Abandoned {},
}

/// An input as the state knows it: its canonical path, size and modification time. An input
/// that changed since it was scanned is scanned again.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identity {
    path: String,
    size: u64,
    modified_ns: u64,
}

impl Identity {
    /// The identity of an input now, or `None` when it cannot be read (such an input is
    /// never skipped; scanning it reports the error).
    pub fn of(input: &Input) -> Option<Identity> {
        let path = fs::canonicalize(input.path()).ok()?;
        let meta = fs::metadata(&path).ok()?;
        let modified_ns = meta
            .modified()
            .ok()?
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_nanos()
            .try_into()
            .ok()?;
        Some(Identity {
            path: inkseal_scan::path_text(&path),
            size: meta.len(),
            modified_ns,
        })
    }
}

/// A finished input in the log: where its records are and how long it took.
#[derive(Clone, Copy, Debug)]
struct Finished {
    start: u64,
    end: u64,
    seconds: f64,
}

/// An open state file.
pub struct State {
    path: PathBuf,
    finished: HashMap<Identity, Finished>,
    /// Partial reports of earlier runs that did not finish.
    stale_reports: Vec<PathBuf>,
    writer: BufWriter<File>,
    reader: File,
    /// Where the next line goes.
    offset: u64,
    group_start: u64,
    group_samples: u64,
    last_mark: Instant,
    last_sync: Instant,
    lines_written: u64,
    /// Test hook: abort (as a kill would) after this many lines.
    abort_after: Option<u64>,
    /// The size of the unfinished tail cut off when opening.
    dropped_bytes: u64,
}

impl State {
    /// Opens `path`, creating it when missing. An existing file must be a state file made with
    /// the same `settings`; a torn or unfinished tail is cut off (see
    /// [`State::dropped_bytes`]).
    pub fn open(path: &Path, settings: &Settings) -> Result<State> {
        let ctx = |e: std::io::Error| state_error(path, e.to_string());
        // Appends only: a kill can tear the last line, never rewrite an earlier one. The
        // reader has its own file offset, so replaying never moves where lines are written.
        // A named pipe or a device is refused (reading one would block or never end).
        let file = inkseal_io::read::open_with(
            path,
            OpenOptions::new().read(true).append(true).create(true),
        )
        .map_err(ctx)?;
        // Held (advisory, exclusive) until the state is dropped at the end of the scan: a
        // second scan on the same file would cut its tail and delete its partial report.
        file.try_lock().map_err(|e| match e {
            TryLockError::WouldBlock => Error::StateInUse(path.to_path_buf()),
            TryLockError::Error(e) => ctx(e),
        })?;
        let len = file.metadata().map_err(ctx)?.len();
        let mut state = State {
            path: path.to_path_buf(),
            finished: HashMap::new(),
            stale_reports: Vec::new(),
            reader: inkseal_io::read::open(path).map_err(ctx)?,
            writer: BufWriter::new(file),
            offset: 0,
            group_start: 0,
            group_samples: 0,
            last_mark: Instant::now(),
            last_sync: Instant::now(),
            lines_written: 0,
            abort_after: None,
            dropped_bytes: 0,
        };
        if len == 0 {
            let header = Header {
                inkseal_scan_state: VERSION,
                settings: settings.clone(),
            };
            state.write_line(&header)?;
            state.flush(true)?;
        } else {
            let valid_end = state.load(settings)?;
            if valid_end < len {
                state.dropped_bytes = len - valid_end;
                state.writer.get_ref().set_len(valid_end).map_err(ctx)?;
            }
            state.offset = valid_end;
        }
        state.group_start = state.offset;
        state.lines_written = 0;
        state.abort_after = fault::scan_line_limit();
        Ok(state)
    }

    /// Reads the log; returns the end of the last finished group.
    fn load(&mut self, settings: &Settings) -> Result<u64> {
        let path = self.path.clone();
        let io = |e: std::io::Error| state_error(&path, e.to_string());
        let mut reader = BufReader::new(&self.reader);
        let mut line = Vec::new();
        (&mut reader)
            .take(MAX_HEADER)
            .read_until(b'\n', &mut line)
            .map_err(io)?;
        let header: Header = match serde_json::from_slice(&line) {
            Ok(h) if line.ends_with(b"\n") => h,
            _ => {
                return Err(state_error(
                    &path,
                    "not an inkseal scan state file; name a new file to start a new scan",
                ));
            }
        };
        if header.inkseal_scan_state != VERSION {
            return Err(state_error(
                &path,
                format!(
                    "made by another version of inkseal (format {}); start a new state file",
                    header.inkseal_scan_state
                ),
            ));
        }
        if header.settings != *settings {
            return Err(state_error(
                &path,
                format!(
                    "made by a scan with other settings (key {}, column {:?}); use a new state file for this scan",
                    header.settings.key_id, header.settings.column
                ),
            ));
        }
        let mut offset = line.len() as u64;
        let mut group_start = offset;
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(io)?;
            if n == 0 || !line.ends_with(b"\n") {
                break;
            }
            let line_end = offset + n as u64;
            if let Ok(mark) = serde_json::from_slice::<Mark>(&line) {
                match mark {
                    Mark::Done {
                        input,
                        size,
                        modified_ns,
                        seconds,
                        ..
                    } => {
                        let identity = Identity {
                            path: input,
                            size,
                            modified_ns,
                        };
                        let finished = Finished {
                            start: group_start,
                            end: offset,
                            seconds,
                        };
                        self.finished.insert(identity, finished);
                    }
                    Mark::Session { partial_report } => {
                        self.stale_reports.extend(partial_report);
                    }
                    Mark::Abandoned {} => {}
                }
                group_start = line_end;
            } else if serde_json::from_slice::<Record>(&line).is_err() {
                // Not a line we wrote whole: everything from here on is discarded.
                break;
            }
            offset = line_end;
        }
        Ok(group_start)
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many bytes of an unfinished input's records [`State::open`] cut off (that input is
    /// scanned again); 0 when the file ended cleanly.
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped_bytes
    }

    /// Whether `identity` was finished by an earlier run.
    pub fn is_finished(&self, identity: &Identity) -> bool {
        self.finished.contains_key(identity)
    }

    /// Partial reports left by earlier runs that were killed; the caller removes them.
    pub fn stale_reports(&self) -> &[PathBuf] {
        &self.stale_reports
    }

    /// Starts this run, naming its partial report (removed by the next run if this one dies).
    pub fn start_session(&mut self, partial_report: Option<&Path>) -> Result<()> {
        let mark = Mark::Session {
            partial_report: partial_report.map(Path::to_path_buf),
        };
        self.write_line(&mark)?;
        self.flush(true)?;
        self.group_start = self.offset;
        self.group_samples = 0;
        self.last_mark = Instant::now();
        Ok(())
    }

    /// Passes a finished input's records, in order, to `visit`, and returns how long that
    /// input took when it was scanned.
    pub fn replay<E: From<Error>>(
        &self,
        identity: &Identity,
        mut visit: impl FnMut(Record) -> std::result::Result<(), E>,
    ) -> std::result::Result<f64, E> {
        let io = |e: std::io::Error| state_error(&self.path, e.to_string());
        let Some(f) = self.finished.get(identity) else {
            return Err(state_error(
                &self.path,
                format!("input {} was not finished", identity.path),
            )
            .into());
        };
        let mut file = &self.reader;
        file.seek(SeekFrom::Start(f.start)).map_err(io)?;
        let reader = BufReader::new(file.take(f.end - f.start));
        for line in reader.lines() {
            let line = line.map_err(io)?;
            let record: Record = serde_json::from_str(&line).map_err(|e| {
                state_error(&self.path, format!("a record cannot be read back: {e}"))
            })?;
            visit(record)?;
        }
        Ok(f.seconds)
    }

    /// Logs one record of the input being scanned.
    pub fn record(&mut self, record: &Record) -> Result<()> {
        if matches!(record, Record::Sample(_)) {
            self.group_samples += 1;
        }
        self.write_line(record)
    }

    /// Logs the end of an input (after all its records) and returns how long it took since
    /// the previous one ended. The log reaches the OS here, so a killed scan keeps it.
    pub fn input_done(&mut self, identity: Option<&Identity>) -> Result<f64> {
        let seconds = self.last_mark.elapsed().as_secs_f64();
        self.last_mark = Instant::now();
        match identity {
            Some(id) => {
                let mark = Mark::Done {
                    input: id.path.clone(),
                    size: id.size,
                    modified_ns: id.modified_ns,
                    samples: self.group_samples,
                    seconds,
                };
                let end = self.offset;
                self.write_line(&mark)?;
                let finished = Finished {
                    start: self.group_start,
                    end,
                    seconds,
                };
                self.finished.insert(id.clone(), finished);
            }
            // An input that cannot be identified is scanned again next time: its records are
            // closed off so that the next `done` line does not claim them.
            None => self.write_line(&Mark::Abandoned {})?,
        }
        self.group_start = self.offset;
        self.group_samples = 0;
        let sync = self.last_sync.elapsed().as_secs_f64() >= SYNC_EVERY_SECS;
        self.flush(sync)?;
        Ok(seconds)
    }

    /// Flushes everything to disk at the end of a run.
    pub fn finish(mut self) -> Result<()> {
        self.flush(true)
    }

    fn flush(&mut self, sync: bool) -> Result<()> {
        let ctx = |e: std::io::Error| state_error(&self.path, e.to_string());
        self.writer.flush().map_err(ctx)?;
        if sync {
            self.writer.get_ref().sync_data().map_err(ctx)?;
            self.last_sync = Instant::now();
        }
        Ok(())
    }

    fn write_line(&mut self, value: &impl Serialize) -> Result<()> {
        let mut line = serde_json::to_vec(value)
            .map_err(|e| state_error(&self.path, format!("cannot write a line: {e}")))?;
        line.push(b'\n');
        self.writer
            .write_all(&line)
            .map_err(|e| state_error(&self.path, e.to_string()))?;
        self.offset += line.len() as u64;
        self.lines_written += 1;
        if self.abort_after.is_some_and(|n| self.lines_written >= n) {
            let _ = self.writer.flush();
            fault::abort();
        }
        Ok(())
    }
}

fn state_error(path: &Path, detail: impl Into<String>) -> Error {
    Error::ScanState {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// Titles and artists of detected works, from the registry, looked up once per work.
pub struct WorkLookup {
    registry: Option<inkseal_registry::Registry>,
    cache: HashMap<String, Option<(String, String)>>,
}

impl WorkLookup {
    /// Looks works up in `registry` (none: every work is unknown).
    pub fn new(registry: Option<inkseal_registry::Registry>) -> WorkLookup {
        WorkLookup {
            registry,
            cache: HashMap::new(),
        }
    }

    /// `(title, artist)` of a work ID in 16 hex digits, if the registry knows it.
    pub fn get(&mut self, work_id: &str) -> Result<Option<&(String, String)>> {
        if !self.cache.contains_key(work_id) {
            let found = match (&self.registry, u64::from_str_radix(work_id, 16)) {
                (Some(registry), Ok(id)) => registry
                    .get(id)
                    .map_err(|e| {
                        Error::registry(format!("registry {}", registry.path().display()), e)
                    })?
                    .map(|w| (w.title, w.artist)),
                _ => None,
            };
            self.cache.insert(work_id.to_string(), found);
        }
        Ok(self.cache.get(work_id).and_then(Option::as_ref))
    }
}
