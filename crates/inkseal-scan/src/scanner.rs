//! The parallel scanning engine.

use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use inkseal_mark::{DetectConfig, Detector, Key};
use rayon::prelude::*;

use crate::record::{ErrorRecord, SampleRecord};
use crate::{Error, Input, Record, Result, Sample, SampleResult, Summary};
use inkseal_io::image::{DecodeOptions, Limits};

/// Default cap on one member's size: 256 MiB.
pub const DEFAULT_MAX_MEMBER_BYTES: u64 = 256 << 20;

/// The most worker threads a scan starts. Each holds a detector and up to a batch of samples
/// in flight, so a larger number asks for memory, not speed; more is refused with
/// [`Error::TooManyThreads`] before any thread starts.
pub const MAX_THREADS: usize = 256;

/// Settings for a [`Scanner`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ScanConfig {
    /// Worker threads; 0 means one per core. At most [`MAX_THREADS`].
    pub threads: usize,
    /// Members (and files, and Parquet cells) larger than this are error records, refused
    /// before their bytes are read.
    pub max_member_bytes: u64,
    /// The Parquet image column to read; `None` finds image columns from the schema.
    pub column: Option<String>,
    /// Parquet columns carried into every sample's record (a URL, a caption, a key), so a
    /// finding can be traced back to where the sample was scraped from. A named column
    /// that a Parquet file does not have is an error for that file; other inputs have none.
    pub with: Vec<String>,
    /// Detector settings (threshold, pixel limit).
    pub detect: DetectConfig,
    /// Size limits for decoding each image.
    pub limits: Limits,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            threads: 0,
            max_member_bytes: DEFAULT_MAX_MEMBER_BYTES,
            column: None,
            with: Vec::new(),
            detect: DetectConfig::default(),
            limits: Limits::default(),
        }
    }
}

impl ScanConfig {
    /// Sets the number of worker threads (0: one per core).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Sets the member size cap in bytes.
    pub fn with_max_member_bytes(mut self, max: u64) -> Self {
        self.max_member_bytes = max;
        self
    }

    /// Names the Parquet image column.
    pub fn with_column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }

    /// Names the Parquet columns to carry into each record.
    pub fn with_columns(mut self, columns: Vec<String>) -> Self {
        self.with = columns;
        self
    }

    /// Sets the decoding limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the detector settings.
    pub fn with_detect(mut self, detect: DetectConfig) -> Self {
        self.detect = detect;
        self
    }
}

/// What [`Scanner::scan_events`] reports, in order.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// One sample's result, or one failure.
    Record {
        /// The index of the input it belongs to.
        input: usize,
        /// The size of the encoded sample in bytes (0 when it could not be read).
        bytes: u64,
        /// The result.
        record: Record,
    },
    /// Every record of this input has been passed on.
    InputDone {
        /// The index of the input.
        input: usize,
    },
}

/// What the reader thread hands to the workers.
enum Item {
    Sample { input: usize, result: SampleResult },
    Done(usize),
}

/// A reusable scanning engine for one key: a thread pool with one [`Detector`] per worker.
#[derive(Debug)]
pub struct Scanner {
    config: ScanConfig,
    pool: rayon::ThreadPool,
    detectors: Vec<Mutex<Detector>>,
}

impl Scanner {
    /// Builds the workers and their detectors. More than [`MAX_THREADS`] threads is
    /// [`Error::TooManyThreads`], before any is started.
    pub fn new(key: &Key, config: ScanConfig) -> Result<Scanner> {
        let threads = match config.threads {
            0 => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_THREADS),
            n if n > MAX_THREADS => {
                return Err(Error::TooManyThreads {
                    asked: n,
                    max: MAX_THREADS,
                });
            }
            n => n,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("inkseal-scan-{i}"))
            .build()
            .map_err(|e| Error::Threads(e.to_string()))?;
        let detectors = (0..pool.current_num_threads())
            .map(|_| Detector::new(key, config.detect.clone()).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Scanner {
            config,
            pool,
            detectors,
        })
    }

    /// This engine's settings.
    pub fn config(&self) -> &ScanConfig {
        &self.config
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.detectors.len()
    }

    /// Decodes and searches encoded images held in memory, in parallel on this engine's
    /// threads, with exactly the decoding and detection of a scan (the same limits, the same
    /// detector settings): one result per image, in order. For shells that already hold the
    /// bytes (a Python batch, an Arrow column).
    pub fn detect_bytes<B: AsRef<[u8]> + Sync>(
        &self,
        images: &[B],
    ) -> Vec<Result<inkseal_mark::Detection>> {
        self.pool.install(|| {
            images
                .par_iter()
                .map(|bytes| {
                    catch_unwind(AssertUnwindSafe(|| self.search(bytes.as_ref()))).unwrap_or_else(
                        |_| Err(Error::Decode("the decoder crashed on this image".into())),
                    )
                })
                .collect()
        })
    }

    /// Scans `inputs` in order and passes one [`Record`] per sample or failure to `sink`, in
    /// a deterministic order (the order in which the samples were read), then returns the
    /// totals. A failure is a record; only a failure to start a thread ends the scan early.
    /// See [`Scanner::scan_events`] for the streaming and memory bounds.
    pub fn scan(&self, inputs: &[Input], mut sink: impl FnMut(Record)) -> Result<Summary> {
        self.scan_events(inputs, |event| {
            if let Event::Record { record, .. } = event {
                sink(record);
            }
            ControlFlow::Continue(())
        })
    }

    /// Like [`Scanner::scan`], with the events a caller needs to checkpoint or show progress:
    /// each record comes with the index of its input and the sample's size in bytes, and an
    /// [`Event::InputDone`] follows the last record of every input. When `sink` returns
    /// [`ControlFlow::Break`] the scan stops early (within a batch) and the summary covers
    /// what was passed on.
    ///
    /// Samples are read on one thread in batches of twice the number of workers while the
    /// previous batch is decoded and searched in parallel, so at most three batches are in
    /// memory, whatever the size of the inputs.
    pub fn scan_events(
        &self,
        inputs: &[Input],
        mut sink: impl FnMut(Event) -> ControlFlow<()>,
    ) -> Result<Summary> {
        let started = Instant::now();
        let batch_size = 2 * self.threads().max(1);
        let mut summary = Summary::default();
        std::thread::scope(|scope| -> Result<()> {
            let (tx, rx) = sync_channel::<Vec<Item>>(1);
            let config = &self.config;
            std::thread::Builder::new()
                .name("inkseal-scan-reader".into())
                .spawn_scoped(scope, move || {
                    let mut batch = Vec::with_capacity(batch_size);
                    let push = |batch: &mut Vec<Item>, item: Item| {
                        batch.push(item);
                        if batch.len() >= batch_size {
                            let full = std::mem::replace(batch, Vec::with_capacity(batch_size));
                            if tx.send(full).is_err() {
                                return ControlFlow::Break(());
                            }
                        }
                        ControlFlow::Continue(())
                    };
                    for (index, input) in inputs.iter().enumerate() {
                        let flow = input.for_each_sample(config, &mut |result| {
                            push(
                                &mut batch,
                                Item::Sample {
                                    input: index,
                                    result,
                                },
                            )
                        });
                        if flow.is_break() || push(&mut batch, Item::Done(index)).is_break() {
                            return;
                        }
                    }
                    if !batch.is_empty() {
                        // The receiver only goes away if the scan is over anyway.
                        let _ = tx.send(batch);
                    }
                })?;
            // Leaving this loop drops the receiver, which stops the reader at its next batch.
            'batches: for batch in rx {
                let events: Vec<Event> = self.pool.install(|| {
                    batch
                        .into_par_iter()
                        .map(|item| match item {
                            Item::Sample { input, result } => {
                                let bytes = result.as_ref().map_or(0, |s| s.bytes.len() as u64);
                                Event::Record {
                                    input,
                                    bytes,
                                    record: self.process(result),
                                }
                            }
                            Item::Done(input) => Event::InputDone { input },
                        })
                        .collect()
                });
                for event in events {
                    if let Event::Record { record, .. } = &event {
                        summary.add(record);
                    }
                    if sink(event).is_break() {
                        break 'batches;
                    }
                }
            }
            Ok(())
        })?;
        summary.seconds = started.elapsed().as_secs_f64();
        summary.images_per_second = if summary.seconds > 0.0 {
            summary.samples as f64 / summary.seconds
        } else {
            0.0
        };
        Ok(summary)
    }

    /// Decodes and searches one sample on the calling thread.
    pub fn scan_sample(&self, sample: Sample) -> Record {
        self.process(Ok(sample))
    }

    fn process(&self, item: SampleResult) -> Record {
        let sample = match item {
            Ok(sample) => sample,
            Err(e) => {
                return Record::Error(ErrorRecord {
                    source: e.source,
                    member: e.member,
                    key: e.key,
                    error: one_line(&e.error.to_string()),
                });
            }
        };
        // A decoder bug on hostile bytes must cost one sample, not the scan.
        let outcome = catch_unwind(AssertUnwindSafe(|| self.search(&sample.bytes)))
            .unwrap_or_else(|_| Err(Error::Decode("the decoder crashed on this image".into())));
        match outcome {
            Ok(found) => Record::Sample(SampleRecord {
                source: sample.source,
                member: sample.member,
                key: sample.key,
                detected: found.detected,
                work_id: found
                    .work_id
                    .filter(|_| found.detected)
                    .map(|id| id.to_string()),
                p_value: found.p_value,
                path: sample.path,
                with: sample.with,
            }),
            Err(error) => Record::Error(ErrorRecord {
                source: sample.source,
                member: sample.member,
                key: Some(sample.key),
                error: one_line(&error.to_string()),
            }),
        }
    }

    fn search(&self, bytes: &[u8]) -> Result<inkseal_mark::Detection> {
        let options = DecodeOptions::default().with_limits(self.config.limits);
        let pixels = inkseal_io::image::decode_bytes(bytes, &options)?;
        let image = pixels.view()?;
        let slot = rayon::current_thread_index().unwrap_or(0) % self.detectors.len().max(1);
        let detector = self
            .detectors
            .get(slot)
            .ok_or_else(|| Error::Threads("no detector".into()))?;
        let mut detector = detector.lock().unwrap_or_else(|p| p.into_inner());
        Ok(detector.detect(image)?)
    }
}

/// A message on one line: decoders' messages can end in or contain line breaks, which would
/// break line-oriented reports.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_threads_are_refused_before_any_starts() {
        let config = ScanConfig::default().with_threads(100_000);
        let err = Scanner::new(&Key::public(), config)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("100000 worker threads asked for; the limit is 256")
        );
        let config = ScanConfig::default().with_threads(MAX_THREADS);
        assert!(Scanner::new(&Key::public(), config).is_ok_and(|s| s.threads() == MAX_THREADS));
    }

    #[test]
    fn error_messages_are_kept_on_one_line() {
        assert_eq!(
            one_line("I/O errors Not enough bytes,\n expected 1 but found 0\n"),
            "I/O errors Not enough bytes, expected 1 but found 0"
        );
    }
}
