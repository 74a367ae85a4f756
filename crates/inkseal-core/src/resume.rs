//! A resumable scan: the scan loop, the skipping of inputs an earlier run finished, the
//! replay of their records from the state file in input order, and the totals.
//!
//! A shell (the CLI, a service) gives it the inputs, the open [`State`] (or none) and the
//! registry lookup, and receives every record, in the order an uninterrupted scan would
//! report them, through one callback: it only formats and prints.
//!
//! ```
//! use inkseal_core::ResumableScan;
//! use inkseal_core::scan::WorkLookup;
//! use inkseal_scan::{Input, ScanConfig, Scanner};
//! use inkseal_mark::Key;
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("a.png"), b"not an image")?;
//! let scanner = Scanner::new(&Key::public(), ScanConfig::default().with_threads(1))?;
//! let inputs = Input::from_path(dir.path())?.expand();
//! let mut scan = ResumableScan::new(inputs, None, WorkLookup::new(None));
//! let mut errors = 0;
//! let summary = scan.run(&scanner, None, |event| -> inkseal_core::Result<()> {
//!     if let inkseal_core::resume::Event::Record { record, .. } = event {
//!         errors += u32::from(matches!(record, inkseal_scan::Record::Error(_)));
//!     }
//!     Ok(())
//! })?;
//! assert_eq!((summary.errors, errors), (1, 1));
//! scan.finish()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use inkseal_scan::{Input, Record, Scanner, Summary};

use crate::scan::{Identity, State, WorkLookup};
use crate::{Error, Result, atomic};

/// What a resumable scan passes to its caller, in report order.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A record to report: scanned now or replayed from the state file.
    Record {
        /// The record.
        record: &'a Record,
        /// The registry's title and artist of the detected work, when it is known.
        work: Option<&'a (String, String)>,
        /// The sample's size in bytes when it was scanned now (0 when replayed or for an
        /// input error): what a progress bar advances by.
        bytes: u64,
        /// The totals so far, this record included.
        totals: &'a Summary,
    },
    /// Every record of input `index` (into [`ResumableScan::inputs`]) has been passed on.
    InputDone {
        /// The index of the input.
        index: usize,
        /// The totals so far.
        totals: &'a Summary,
    },
}

/// One run of a scan that may resume an earlier, interrupted one.
pub struct ResumableScan {
    inputs: Vec<Input>,
    identities: Vec<Option<Identity>>,
    skip: Vec<bool>,
    state: Option<State>,
    works: WorkLookup,
    summary: Summary,
    /// The next input whose records have not been passed on.
    next: usize,
    /// Time spent on finished inputs by earlier runs.
    replayed_seconds: f64,
}

impl ResumableScan {
    /// A run over `inputs`; with a `state`, the inputs it records as finished (and that have
    /// not changed since) are replayed rather than scanned. Temporary report files left by
    /// earlier, unfinished runs are removed.
    pub fn new(inputs: Vec<Input>, state: Option<State>, works: WorkLookup) -> ResumableScan {
        let identities: Vec<Option<Identity>> = match state {
            Some(_) => inputs.iter().map(Identity::of).collect(),
            None => vec![None; inputs.len()],
        };
        let skip = identities
            .iter()
            .map(|id| match (&state, id) {
                (Some(state), Some(id)) => state.is_finished(id),
                _ => false,
            })
            .collect();
        if let Some(state) = &state {
            for stale in state.stale_reports() {
                if atomic::is_temporary_name(stale) && stale.is_file() {
                    let _ = std::fs::remove_file(stale);
                }
            }
        }
        ResumableScan {
            inputs,
            identities,
            skip,
            state,
            works,
            summary: Summary::default(),
            next: 0,
            replayed_seconds: 0.0,
        }
    }

    /// The inputs, in report order.
    pub fn inputs(&self) -> &[Input] {
        &self.inputs
    }

    /// How many inputs an earlier run finished (they are replayed, not scanned).
    pub fn finished_earlier(&self) -> usize {
        self.skip.iter().filter(|&&s| s).count()
    }

    /// The state file, when the scan is resumable.
    pub fn state(&self) -> Option<&State> {
        self.state.as_ref()
    }

    /// The registry's title and artist of a work (for a summary of the works found).
    pub fn work(&mut self, work_id: &str) -> Result<Option<&(String, String)>> {
        self.works.get(work_id)
    }

    /// Scans what is left and replays what was finished, passing every record to `sink` in
    /// input order, and returns the totals (the time of replayed inputs included). The state
    /// file names `partial_report`, the report being written, so that a later run can remove
    /// it if this one dies. An error from `sink` stops the scan and is returned.
    pub fn run<E: From<Error>>(
        &mut self,
        scanner: &Scanner,
        partial_report: Option<&Path>,
        mut sink: impl FnMut(Event<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<Summary, E> {
        let started = Instant::now();
        if let Some(state) = &mut self.state {
            state.start_session(partial_report)?;
        }
        let (todo, todo_index): (Vec<Input>, Vec<usize>) = self
            .inputs
            .iter()
            .zip(&self.skip)
            .enumerate()
            .filter(|(_, (_, skip))| !**skip)
            .map(|(i, (input, _))| (input.clone(), i))
            .unzip();
        let mut failure = None;
        scanner
            .scan_events(&todo, |event| {
                match self.on_event(event, &todo_index, &mut sink) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        failure = Some(e);
                        ControlFlow::Break(())
                    }
                }
            })
            .map_err(Error::from)?;
        if let Some(e) = failure {
            return Err(e);
        }
        self.catch_up(self.inputs.len(), &mut sink)?;
        self.summary.seconds = started.elapsed().as_secs_f64() + self.replayed_seconds;
        self.summary.images_per_second = if self.summary.seconds > 0.0 {
            self.summary.samples as f64 / self.summary.seconds
        } else {
            0.0
        };
        Ok(self.summary.clone())
    }

    /// Makes the state file durable; call once the report is written.
    pub fn finish(&mut self) -> Result<()> {
        match self.state.take() {
            Some(state) => state.finish(),
            None => Ok(()),
        }
    }

    fn on_event<E: From<Error>>(
        &mut self,
        event: inkseal_scan::Event,
        todo_index: &[usize],
        sink: &mut impl FnMut(Event<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        match event {
            inkseal_scan::Event::Record {
                input,
                bytes,
                record,
            } => {
                let index = todo_index.get(input).copied().unwrap_or(input);
                self.catch_up(index, sink)?;
                if let Some(state) = &mut self.state {
                    state.record(&record)?;
                }
                self.emit(&record, bytes, sink)?;
            }
            inkseal_scan::Event::InputDone { input } => {
                let index = todo_index.get(input).copied().unwrap_or(input);
                self.catch_up(index, sink)?;
                if let Some(state) = &mut self.state {
                    state.input_done(self.identities.get(index).and_then(Option::as_ref))?;
                }
                self.next = index + 1;
                sink(Event::InputDone {
                    index,
                    totals: &self.summary,
                })?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Passes on the finished inputs before `index` from the state file, in order.
    fn catch_up<E: From<Error>>(
        &mut self,
        index: usize,
        sink: &mut impl FnMut(Event<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        while self.next < index {
            let i = self.next;
            self.next += 1;
            if !self.skip.get(i).copied().unwrap_or(false) {
                continue;
            }
            let Some(identity) = self.identities.get(i).cloned().flatten() else {
                continue;
            };
            // Replaying reads the state while each record is passed on through `self`.
            let Some(state) = self.state.take() else {
                continue;
            };
            let replayed = state.replay(&identity, |record| self.emit(&record, 0, sink));
            self.state = Some(state);
            self.replayed_seconds += replayed?;
            sink(Event::InputDone {
                index: i,
                totals: &self.summary,
            })?;
        }
        Ok(())
    }

    /// Counts one record and passes it on with its work's registry entry.
    fn emit<E: From<Error>>(
        &mut self,
        record: &Record,
        bytes: u64,
        sink: &mut impl FnMut(Event<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.summary.add(record);
        let work = match record {
            Record::Sample(s) => match &s.work_id {
                Some(id) => self.works.get(id)?,
                None => None,
            },
            _ => None,
        };
        sink(Event::Record {
            record,
            work,
            bytes,
            totals: &self.summary,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::scan::Settings;
    use inkseal_mark::Key;
    use inkseal_scan::ScanConfig;

    /// What a run passed on: (key or error, replayed) per record, and the finished inputs.
    type Seen = (Vec<(String, bool)>, Vec<usize>);

    fn run(
        scan: &mut ResumableScan,
        scanner: &Scanner,
        stop_after_input: Option<usize>,
    ) -> (Result<Summary>, Seen) {
        let mut seen: Seen = (Vec::new(), Vec::new());
        let result = scan.run(scanner, None, |event| {
            match event {
                Event::Record { record, bytes, .. } => {
                    let name = match record {
                        Record::Sample(s) => s.key.clone(),
                        Record::Error(e) => format!("error {}", e.source),
                        _ => String::new(),
                    };
                    // Images have bytes when scanned now; replayed records have none.
                    let replayed = bytes == 0 && matches!(record, Record::Sample(_));
                    seen.0.push((name, replayed));
                }
                Event::InputDone { index, .. } => {
                    seen.1.push(index);
                    if stop_after_input == Some(index) {
                        return Err(Error::Invalid("stopped".into()));
                    }
                }
            }
            Ok(())
        });
        (result, seen)
    }

    #[test]
    fn a_stopped_scan_resumes_with_the_same_records_in_the_same_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut inputs = Vec::new();
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            let folder = dir.path().join(name);
            std::fs::create_dir(&folder).unwrap();
            let img = image::RgbImage::from_fn(64, 64, |x, y| {
                image::Rgb([(x * 3 + i as u32) as u8, (y * 5) as u8, 90])
            });
            img.save(folder.join(format!("{name}1.png"))).unwrap();
            std::fs::write(folder.join(format!("{name}2.png")), b"not a png").unwrap();
            inputs.extend(Input::from_path(&folder).unwrap().expand());
        }
        assert_eq!(inputs.len(), 6, "one input per file");
        let key = Key::public();
        let scanner = Scanner::new(&key, ScanConfig::default().with_threads(2)).unwrap();
        let settings = Settings {
            key_id: key.id(),
            column: None,
            max_member_bytes: ScanConfig::default().max_member_bytes,
            with: Vec::new(),
        };

        let mut plain = ResumableScan::new(inputs.clone(), None, WorkLookup::new(None));
        let (whole, expected) = run(&mut plain, &scanner, None);
        let whole = whole.unwrap();
        assert_eq!((whole.samples, whole.errors), (3, 3));
        assert_eq!(expected.1, vec![0, 1, 2, 3, 4, 5]);

        let path = dir.path().join("state.jsonl");
        let state = State::open(&path, &settings).unwrap();
        let mut first = ResumableScan::new(inputs.clone(), Some(state), WorkLookup::new(None));
        let (stopped, _) = run(&mut first, &scanner, Some(2));
        assert!(matches!(stopped, Err(Error::Invalid(_))));
        drop(first);

        let state = State::open(&path, &settings).unwrap();
        let mut second = ResumableScan::new(inputs, Some(state), WorkLookup::new(None));
        assert_eq!(second.finished_earlier(), 3);
        let (resumed, seen) = run(&mut second, &scanner, None);
        second.finish().unwrap();
        let resumed = resumed.unwrap();
        // The same records in the same order; the first three inputs (a1, a2, b1) replayed
        // from the log: their images come with no bytes (a2 is an error either way).
        let names = |s: &Seen| s.0.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&seen), names(&expected));
        assert_eq!(seen.1, expected.1);
        let replayed: Vec<bool> = seen.0.iter().map(|(_, r)| *r).collect();
        assert_eq!(replayed, vec![true, false, true, false, false, false]);
        assert_eq!(
            (resumed.samples, resumed.errors, resumed.detected),
            (whole.samples, whole.errors, whole.detected)
        );
    }
}
