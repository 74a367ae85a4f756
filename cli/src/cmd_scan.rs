//! `inkseal scan`: find marked works in datasets and report every sample.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use inkseal_core::ResumableScan;
use inkseal_core::atomic::{self, Options, Replace};
use inkseal_core::clobber::ReadFile;
use inkseal_core::resume::Event;
use inkseal_core::scan::{Settings, State, WorkLookup};
use inkseal_scan::{Input, Record, ScanConfig, Scanner, Summary};
use serde::Serialize;

use crate::opts::ScanOpts;
use crate::{Outcome, cmd_key, output, store};

/// How the report is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// Marks and errors, one line each, then a summary for people.
    Text,
    /// Every record and the summary, as JSON Lines.
    Json,
    /// Every record as a CSV row; the summary on standard error.
    Csv,
}

/// Runs `inkseal scan`.
pub fn run(opts: &ScanOpts) -> Result<Outcome> {
    let format = match (opts.json, opts.csv) {
        (true, _) => Format::Json,
        (_, true) => Format::Csv,
        _ => Format::Text,
    };
    let key = cmd_key::load(opts.key.as_deref())?;
    let mut inputs = Vec::new();
    for path in &opts.inputs {
        let input = Input::from_path(path).with_context(|| format!("{}", path.display()))?;
        inputs.extend(input.expand());
    }
    if let Some(out) = &opts.out {
        check_report_path(out, opts)?;
    }
    let works = open_works(opts)?;
    let mut config = ScanConfig::default()
        .with_threads(opts.threads)
        .with_detect(inkseal_mark::DetectConfig::default().with_regions(!opts.no_regions));
    if let Some(column) = &opts.column {
        config = config.with_column(column.clone());
    }
    if opts.with.iter().any(|c| c.trim().is_empty()) {
        bail!("--with names columns: no empty names");
    }
    config = config.with_columns(opts.with.clone());
    let settings = Settings {
        key_id: key.id(),
        column: opts.column.clone(),
        max_member_bytes: config.max_member_bytes,
        with: opts.with.clone(),
    };
    let scanner = Scanner::new(&key, config)?;
    let state = match &opts.resume {
        Some(path) => Some(State::open(path, &settings)?),
        None => None,
    };
    if let Some(state) = &state
        && state.dropped_bytes() > 0
    {
        output::note(format!(
            "{}: dropping the records of an input that was not finished ({} bytes); it is scanned again",
            state.path().display(),
            state.dropped_bytes()
        ));
    }
    let show_progress = !opts.no_progress
        && format != Format::Json
        && std::io::stderr().is_terminal()
        && (opts.out.is_some() || std::io::stdout().is_terminal());
    let mut scan = Scan::new(inputs, state, works, format, show_progress);
    scan.with = opts.with.clone();

    let summary = match &opts.out {
        Some(out) => {
            let mut summary = None;
            let options = Options::new(Replace::Yes).with_mode(0o644, false);
            atomic::write_with(out, &options, |file, tmp| -> Result<()> {
                let writer = BufWriter::new(&*file);
                summary = Some(scan.run(&scanner, Box::new(writer), Some(tmp))?);
                Ok(())
            })?;
            summary.context("the scan did not finish")?
        }
        None => scan.run(&scanner, Box::new(std::io::stdout().lock()), None)?,
    };
    Ok(if summary.detected > 0 {
        Outcome::Ok
    } else {
        Outcome::NotFound
    })
}

/// The report must not replace something the scan reads or writes: an input, the key file,
/// the resume state or the registry (under any name).
fn check_report_path(out: &Path, opts: &ScanOpts) -> Result<()> {
    let mut reads: Vec<ReadFile<'_>> = opts
        .inputs
        .iter()
        .map(|p| ReadFile::new("the input", p))
        .collect();
    if let Some(key) = &opts.key {
        reads.push(ReadFile::new("the key file", key));
    }
    if let Some(state) = &opts.resume {
        reads.push(ReadFile::new("the state file", state));
    }
    store::store(&opts.store, None).check_output(out, &reads)?;
    if out.is_dir() {
        bail!("{} is a folder; name the report file", out.display());
    }
    Ok(())
}

/// Titles and artists of detected works, from the registry (which must exist if named).
fn open_works(opts: &ScanOpts) -> Result<WorkLookup> {
    if let Some(path) = &opts.store.registry
        && !path.exists()
    {
        bail!("no registry at {}", path.display());
    }
    let store = store::store(&opts.store, None);
    Ok(WorkLookup::new(store::open_existing_registry(&store)?))
}

/// The columns of a CSV report, in order (then `path` and `with.NAME` when `--with` names
/// columns).
const CSV_COLUMNS: [&str; 10] = [
    "type", "source", "member", "key", "detected", "work_id", "p_value", "title", "artist", "error",
];

/// One CSV row with the carried columns.
fn csv_row(line: &SampleLine, with: &[String]) -> Vec<String> {
    let text = |v: Option<&str>| v.unwrap_or("").to_string();
    let mut row = vec![
        line.kind.to_string(),
        line.source.to_string(),
        text(line.member),
        line.key.to_string(),
        line.detected.to_string(),
        text(line.work_id),
        line.p_value.map(|p| p.to_string()).unwrap_or_default(),
        text(line.title),
        text(line.artist),
        text(line.error),
        text(line.path),
    ];
    row.extend(with.iter().map(|c| {
        line.with
            .and_then(|w| w.get(c).cloned().flatten())
            .unwrap_or_default()
    }));
    row
}

/// One sample in a JSON or CSV report.
#[derive(Serialize)]
struct SampleLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    source: &'a str,
    member: Option<&'a str>,
    key: &'a str,
    detected: bool,
    work_id: Option<&'a str>,
    p_value: Option<f64>,
    title: Option<&'a str>,
    artist: Option<&'a str>,
    error: Option<&'a str>,
    /// The Hugging Face image's own path (JSON only; a CSV column with `--with`).
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    /// Carried columns (JSON only; CSV columns with `--with`).
    #[serde(skip_serializing_if = "Option::is_none")]
    with: Option<&'a std::collections::BTreeMap<String, Option<String>>>,
}

/// The JSON summary line.
#[derive(Serialize)]
struct SummaryLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    inputs: usize,
    samples: u64,
    detected: u64,
    errors: u64,
    works: Vec<WorkLine<'a>>,
    seconds: f64,
    images_per_second: f64,
}

#[derive(Serialize)]
struct WorkLine<'a> {
    work_id: &'a str,
    samples: u64,
    title: Option<String>,
    artist: Option<String>,
}

/// Where the report goes.
enum Sink<'a> {
    Plain(Box<dyn Write + 'a>),
    Csv(Box<csv::Writer<Box<dyn Write + 'a>>>),
}

/// One run of `inkseal scan`: the library's resumable scan, the report and the progress bar.
struct Scan {
    run: ResumableScan,
    format: Format,
    /// The carried columns (CSV rows get one column each).
    with: Vec<String>,
    progress: Option<Progress>,
}

impl Scan {
    fn new(
        inputs: Vec<Input>,
        state: Option<State>,
        works: WorkLookup,
        format: Format,
        show_progress: bool,
    ) -> Scan {
        let progress = show_progress.then(|| Progress::new(&inputs));
        Scan {
            run: ResumableScan::new(inputs, state, works),
            format,
            with: Vec::new(),
            progress,
        }
    }

    fn run(
        &mut self,
        scanner: &Scanner,
        out: Box<dyn Write + '_>,
        partial_report: Option<&Path>,
    ) -> Result<Summary> {
        let skipped = self.run.finished_earlier();
        if let Some(state) = self.run.state()
            && skipped > 0
        {
            output::note(format!(
                "resuming from {}: {skipped} of {} inputs were finished by an earlier run",
                state.path().display(),
                self.run.inputs().len()
            ));
        }
        let mut sink = match self.format {
            Format::Csv if self.with.is_empty() => {
                Sink::Csv(Box::new(csv::Writer::from_writer(out)))
            }
            Format::Csv => {
                // Carried columns vary with the command line, so the header is written here
                // and each row field by field.
                let mut w = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(out);
                let mut header: Vec<String> = CSV_COLUMNS.iter().map(|c| c.to_string()).collect();
                header.push("path".into());
                header.extend(self.with.iter().map(|c| format!("with.{c}")));
                w.write_record(&header)?;
                Sink::Csv(Box::new(w))
            }
            _ => Sink::Plain(out),
        };
        let (format, with, progress) = (self.format, &self.with, &mut self.progress);
        let summary = self
            .run
            .run(scanner, partial_report, |event| -> Result<()> {
                match event {
                    Event::Record {
                        record,
                        work,
                        bytes,
                        totals,
                    } => {
                        emit(record, work, format, with, progress.as_ref(), &mut sink)?;
                        if let Some(p) = progress.as_mut() {
                            p.advance(bytes, totals);
                        }
                    }
                    Event::InputDone { index, totals } => {
                        if let Some(p) = progress.as_mut() {
                            p.input_done(index, totals);
                        }
                    }
                    _ => {}
                }
                Ok(())
            })?;
        if let Some(p) = self.progress.take() {
            p.bar.finish_and_clear();
        }
        self.write_summary(&summary, &mut sink)?;
        match sink {
            Sink::Plain(mut w) => w.flush()?,
            Sink::Csv(mut w) => w.flush()?,
        }
        self.run.finish()?;
        Ok(summary)
    }

    fn write_summary(&mut self, s: &Summary, sink: &mut Sink<'_>) -> Result<()> {
        let mut works = Vec::new();
        for (id, &samples) in &s.per_work {
            let known = self.run.work(id)?.cloned();
            works.push(WorkLine {
                work_id: id,
                samples,
                title: known.as_ref().map(|k| k.0.clone()),
                artist: known.map(|k| k.1),
            });
        }
        let line = SummaryLine {
            kind: "summary",
            inputs: self.run.inputs().len(),
            samples: s.samples,
            detected: s.detected,
            errors: s.errors,
            works,
            seconds: s.seconds,
            images_per_second: s.images_per_second,
        };
        match sink {
            Sink::Plain(w) if self.format == Format::Json => output::json_line(w, &line)?,
            Sink::Plain(w) => write!(w, "{}", summary_text(&line))?,
            Sink::Csv(_) => {
                let _ = write!(std::io::stderr(), "{}", summary_text(&line));
            }
        }
        Ok(())
    }
}

/// Writes one record to the report (`work`: the registry's title and artist).
fn emit(
    record: &Record,
    work: Option<&(String, String)>,
    format: Format,
    with: &[String],
    progress: Option<&Progress>,
    sink: &mut Sink<'_>,
) -> Result<()> {
    let plain_csv = format == Format::Csv && with.is_empty();
    let line = match record {
        Record::Sample(s) => SampleLine {
            kind: "sample",
            source: &s.source,
            member: s.member.as_deref(),
            key: &s.key,
            detected: s.detected,
            work_id: s.work_id.as_deref(),
            p_value: Some(s.p_value),
            title: work.map(|k| k.0.as_str()),
            artist: work.map(|k| k.1.as_str()),
            error: None,
            // A plain CSV report keeps its fixed columns.
            path: s.path.as_deref().filter(|_| !plain_csv),
            with: Some(&s.with).filter(|w| !w.is_empty()),
        },
        Record::Error(e) => SampleLine {
            kind: "error",
            source: &e.source,
            member: e.member.as_deref(),
            key: e.key.as_deref().unwrap_or(""),
            detected: false,
            work_id: None,
            p_value: None,
            title: None,
            artist: None,
            error: Some(&e.error),
            path: None,
            with: None,
        },
        _ => return Ok(()),
    };
    let progress = progress.map(|p| &p.bar);
    match sink {
        Sink::Csv(w) if with.is_empty() => w.serialize(&line)?,
        Sink::Csv(w) => w.write_record(csv_row(&line, with))?,
        Sink::Plain(w) => match format {
            Format::Json => {
                if line.kind == "error" {
                    output::json_line(w, record)?;
                } else {
                    output::json_line(w, &line)?;
                }
            }
            _ => {
                if let Some(text) = text_line(&line) {
                    suspend(progress, || writeln!(w, "{text}"))?;
                }
            }
        },
    }
    Ok(())
}

/// Where a sample is: `source` or `source:member` (escaped: member names come from the shard).
fn location(line: &SampleLine) -> String {
    match line.member {
        Some(m) => format!("{}:{}", output::escape(line.source), output::escape(m)),
        None => output::escape(line.source).into_owned(),
    }
}

/// A mark or an error as one line of text; unmarked samples print nothing. Every value is
/// escaped, so that a member name, an error or a registry title cannot add lines.
fn text_line(line: &SampleLine) -> Option<String> {
    if let Some(error) = line.error {
        return Some(format!(
            "{}: error: {}",
            location(line),
            output::escape(error)
        ));
    }
    let id = line.work_id.filter(|_| line.detected)?;
    let known = match (line.title, line.artist) {
        (Some(t), Some(a)) => format!("  {} by {}", output::quoted(t), output::escape(a)),
        _ => String::new(),
    };
    Some(format!(
        "{}  {}  {}{known}",
        location(line),
        output::escape(id),
        output::format_p(line.p_value.unwrap_or(1.0))
    ))
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summary_text(s: &SummaryLine) -> String {
    let mut text = format!(
        "Scanned {} in {}: {}, {} ({:.1} images/s).\n",
        plural(s.samples, "sample", "samples"),
        plural(s.inputs as u64, "file", "files"),
        plural(s.detected, "marked", "marked"),
        plural(s.errors, "error", "errors"),
        s.images_per_second,
    );
    for w in &s.works {
        let known = match (&w.title, &w.artist) {
            (Some(t), Some(a)) => format!("{} by {}", output::quoted(t), output::escape(a)),
            _ => "(not in the registry)".to_string(),
        };
        text.push_str(&format!(
            "  {}  {:<11}  {known}\n",
            output::escape(w.work_id),
            plural(w.samples, "sample", "samples")
        ));
    }
    text
}

/// Runs `f` with the progress bar hidden, so that report lines and the bar do not mix.
fn suspend<T>(bar: Option<&ProgressBar>, f: impl FnOnce() -> T) -> T {
    match bar {
        Some(bar) => bar.suspend(f),
        None => f(),
    }
}

/// The progress bar: bytes read against the inputs' total size, with the image rate.
struct Progress {
    bar: ProgressBar,
    /// The size of every input up to and including index i.
    cumulative: Vec<u64>,
    position: u64,
    started: Instant,
    session_samples: u64,
}

impl Progress {
    fn new(inputs: &[Input]) -> Progress {
        let mut total = 0u64;
        let cumulative = inputs
            .iter()
            .map(|input| {
                total += std::fs::metadata(input.path())
                    .map(|m| if m.is_file() { m.len() } else { 0 })
                    .unwrap_or(0);
                total
            })
            .collect();
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}%  {msg}  ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress {
            bar,
            cumulative,
            position: 0,
            started: Instant::now(),
            session_samples: 0,
        }
    }

    fn advance(&mut self, bytes: u64, summary: &Summary) {
        self.position += bytes;
        self.session_samples += u64::from(bytes > 0);
        self.bar.set_position(self.position);
        self.update_message(summary);
    }

    fn input_done(&mut self, index: usize, summary: &Summary) {
        self.position = self.cumulative.get(index).copied().unwrap_or(self.position);
        self.bar.set_position(self.position);
        self.update_message(summary);
    }

    fn update_message(&self, summary: &Summary) {
        let seconds = self.started.elapsed().as_secs_f64();
        let rate = if seconds > 0.0 {
            self.session_samples as f64 / seconds
        } else {
            0.0
        };
        self.bar.set_message(format!(
            "{} images, {} marked, {} errors, {rate:.1}/s",
            summary.samples, summary.detected, summary.errors
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(
        detected: bool,
        work_id: Option<&'a str>,
        error: Option<&'a str>,
    ) -> SampleLine<'a> {
        SampleLine {
            kind: if error.is_some() { "error" } else { "sample" },
            source: "shard.tar",
            member: Some("00001.jpg"),
            key: "00001",
            detected,
            work_id,
            p_value: Some(2.5e-12),
            title: work_id.map(|_| "Harbour"),
            artist: work_id.map(|_| "A. Painter"),
            error,
            path: None,
            with: None,
        }
    }

    #[test]
    fn text_lines_show_marks_and_errors_only() {
        assert_eq!(
            text_line(&sample(true, Some("0a0a111122223333"), None)).as_deref(),
            Some("shard.tar:00001.jpg  0a0a111122223333  p = 2.5e-12  \"Harbour\" by A. Painter")
        );
        assert_eq!(text_line(&sample(false, None, None)), None);
        assert_eq!(
            text_line(&sample(false, None, Some("cannot decode the image: x"))).as_deref(),
            Some("shard.tar:00001.jpg: error: cannot decode the image: x")
        );
    }

    #[test]
    fn the_summary_reads_as_sentences() {
        let line = SummaryLine {
            kind: "summary",
            inputs: 1,
            samples: 2,
            detected: 1,
            errors: 0,
            works: vec![WorkLine {
                work_id: "0a0a111122223333",
                samples: 1,
                title: None,
                artist: None,
            }],
            seconds: 1.0,
            images_per_second: 2.0,
        };
        assert_eq!(
            summary_text(&line),
            "Scanned 2 samples in 1 file: 1 marked, 0 errors (2.0 images/s).\n  0a0a111122223333  1 sample     (not in the registry)\n"
        );
    }
}
