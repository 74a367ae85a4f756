//! Marking a portfolio: every image in a folder, in parallel, all or nothing per work, and
//! resumable.
//!
//! [`plan`] lists the folder's images (PNG, JPEG, WebP, TIFF; hidden files skipped) and gives
//! each a title from its file name (`harbour_at-dusk.png` is "harbour at dusk"), or the
//! title, licence and training terms a CSV or JSON sidecar names for it. [`mark_all`] marks
//! them on several threads, each work through the crash-safe protocol of [`Marker`], each
//! under its own registry lease. Marked copies keep their file names in the output folder,
//! which must not be the input folder; an existing output is never replaced. Running the
//! same batch again skips the works whose output is in place and registered (same SHA-256
//! and path), so a batch that was interrupted or partly failed is finished by running it
//! again.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use inkseal_c2pa::Signer;
use inkseal_io::atomic::Replace;
use inkseal_mark::{EmbedConfig, Key, WorkId};
use serde::Deserialize;

use crate::mark::{Marked, Marker, WorkInfo, name_input};
use crate::{Error, Result, Store};

/// File extensions of the images a portfolio is made of (the formats a mark is written in).
pub const MARKABLE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "tif", "tiff"];

/// One work of a portfolio.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The original.
    pub input: PathBuf,
    /// Where its marked copy goes.
    pub output: PathBuf,
    /// Its title and terms.
    pub info: WorkInfo,
}

/// What the whole batch shares unless a sidecar says otherwise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Defaults {
    /// The artist.
    pub artist: String,
    /// The licence.
    pub license: Option<String>,
    /// Whether AI training is allowed.
    pub training_allowed: bool,
}

/// One row of a sidecar: a file of the folder and what to record for it. Missing fields
/// take the defaults (the title: from the file name).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SidecarRow {
    /// The file's name in the folder.
    pub file: String,
    /// Its title.
    #[serde(default)]
    pub title: Option<String>,
    /// Its licence.
    #[serde(default, alias = "licence")]
    pub license: Option<String>,
    /// Whether AI training is allowed.
    #[serde(default, deserialize_with = "yes_no")]
    pub allow_training: Option<bool>,
}

fn yes_no<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Bool(b)) => Ok(Some(b)),
        Some(Raw::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "true" | "yes" | "1" | "allowed" => Ok(Some(true)),
            "false" | "no" | "0" | "notallowed" | "not allowed" => Ok(Some(false)),
            other => Err(serde::de::Error::custom(format!(
                "allow_training must be true or false, not {other:?}"
            ))),
        },
    }
}

/// A title from a file name: the stem, with `_` and `-` read as spaces.
pub fn title_from_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let spaced: String = stem
        .chars()
        .map(|c| if c == '_' || c == '-' { ' ' } else { c })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The largest sidecar [`read_sidecar`] reads (64 MiB: some hundred thousand rows).
pub const MAX_SIDECAR: u64 = 64 << 20;

/// Reads a sidecar: CSV (a header row naming `file` and any of `title`, `license`,
/// `allow_training`) or JSON (an array of objects with those keys), by its extension.
pub fn read_sidecar(path: &Path) -> Result<Vec<SidecarRow>> {
    let bad = |detail: String| Error::Invalid(format!("sidecar {}: {detail}", path.display()));
    let text = inkseal_io::read::to_string(path, MAX_SIDECAR)
        .map_err(|e| Error::file(format!("cannot read the sidecar {}", path.display()), e))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("json") => serde_json::from_str(&text).map_err(|e| bad(e.to_string())),
        Some("csv") => {
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(text.as_bytes());
            reader
                .deserialize()
                .collect::<std::result::Result<Vec<SidecarRow>, _>>()
                .map_err(|e| bad(e.to_string()))
        }
        _ => Err(bad("name a .csv or .json file".into())),
    }
}

/// The works of the folder `dir`, with their outputs in `out_dir`.
pub fn plan(
    dir: &Path,
    out_dir: &Path,
    defaults: &Defaults,
    sidecar: Option<&Path>,
) -> Result<Vec<Item>> {
    if defaults.artist.trim().is_empty() {
        return Err(Error::Invalid("the artist must not be empty".into()));
    }
    let same = match (fs::canonicalize(dir), fs::canonicalize(out_dir)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(Error::Invalid(format!(
            "the output folder {} is the input folder: marked copies never replace the originals",
            out_dir.display()
        )));
    }
    let entries = fs::read_dir(dir)
        .map_err(|e| Error::file(format!("cannot read the folder {}", dir.display()), e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry
            .map_err(|e| Error::file(format!("cannot read the folder {}", dir.display()), e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        let markable = Path::new(&name)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| {
                MARKABLE_EXTENSIONS
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(e))
            });
        if is_file && markable && !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    let mut items: Vec<Item> = names
        .iter()
        .map(|name| Item {
            input: dir.join(name),
            output: out_dir.join(name),
            info: WorkInfo {
                title: title_from_name(Path::new(name)),
                artist: defaults.artist.clone(),
                license: defaults.license.clone(),
                training_allowed: defaults.training_allowed,
            },
        })
        .collect();
    if let Some(sidecar) = sidecar {
        for row in read_sidecar(sidecar)? {
            let Some(item) = names
                .iter()
                .position(|n| *n == row.file)
                .and_then(|i| items.get_mut(i))
            else {
                return Err(Error::Invalid(format!(
                    "sidecar {}: {:?} is not an image in {}",
                    sidecar.display(),
                    row.file,
                    dir.display()
                )));
            };
            if let Some(title) = row.title.filter(|t| !t.trim().is_empty()) {
                item.info.title = title;
            }
            if let Some(license) = row.license.filter(|l| !l.trim().is_empty()) {
                item.info.license = Some(license);
            }
            if let Some(allowed) = row.allow_training {
                item.info.training_allowed = allowed;
            }
        }
    }
    for item in &mut items {
        if item.info.title.is_empty() {
            item.info.title = item
                .input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
    }
    Ok(items)
}

/// What happened to one work.
#[derive(Debug)]
pub enum Outcome {
    /// Marked, signed, written and registered now.
    Marked(Marked),
    /// Already done by an earlier run: the output is in place and registered.
    AlreadyMarked {
        /// The registered work.
        work_id: WorkId,
    },
    /// Not marked; nothing of it was left behind.
    Failed(Error),
}

/// Totals of a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Works marked by this run.
    pub marked: usize,
    /// Works an earlier run had marked.
    pub already_marked: usize,
    /// Works that failed.
    pub failed: usize,
}

/// How to run a batch.
#[derive(Clone, Debug, Default)]
pub struct BatchConfig {
    /// Embedding settings.
    pub embed: EmbedConfig,
    /// Works marked at once; 0: one per core. At most [`MAX_THREADS`].
    pub threads: usize,
}

/// The most works marked at once (each holds its decoded image): as many as a scan's
/// workers, [`inkseal_scan::MAX_THREADS`]. More is an [`Error::Invalid`] before anything is
/// marked.
pub const MAX_THREADS: usize = inkseal_scan::MAX_THREADS;

/// Marks every item (see the [module documentation](self)), calling `on_done` on the
/// calling thread as each work finishes, in the order they finish, with its index in
/// `items`. Errors for the batch as a whole (the key, the settings, the output folder) come
/// back before any work is marked; a work that fails is an [`Outcome::Failed`].
pub fn mark_all(
    items: &[Item],
    key: &Key,
    config: &BatchConfig,
    signer: &Signer,
    store: &Store,
    mut on_done: impl FnMut(usize, Outcome),
) -> Result<Summary> {
    // Checked once, so a bad setting is one error rather than one per work.
    if config.threads > MAX_THREADS {
        return Err(Error::Invalid(format!(
            "{} threads asked for; the limit is {MAX_THREADS}",
            config.threads
        )));
    }
    drop(Marker::new(key, config.embed.clone())?);
    let mut dirs: Vec<&Path> = items
        .iter()
        .filter_map(|item| item.output.parent())
        .filter(|d| !d.as_os_str().is_empty())
        .collect();
    dirs.dedup();
    for dir in dirs {
        fs::create_dir_all(dir)
            .map_err(|e| Error::file(format!("cannot create {}", dir.display()), e))?;
    }
    let threads = match config.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(MAX_THREADS)
    .min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let (send, receive) = mpsc::channel::<(usize, Outcome)>();
    let mut summary = Summary::default();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let send = send.clone();
            let next = &next;
            scope.spawn(move || worker(items, key, config, signer, store, next, &send));
        }
        drop(send);
        for (index, outcome) in receive {
            match &outcome {
                Outcome::Marked(_) => summary.marked += 1,
                Outcome::AlreadyMarked { .. } => summary.already_marked += 1,
                Outcome::Failed(_) => summary.failed += 1,
            }
            on_done(index, outcome);
        }
    });
    Ok(summary)
}

/// One thread of a batch: its own marker and registry handle, works taken one at a time.
fn worker(
    items: &[Item],
    key: &Key,
    config: &BatchConfig,
    signer: &Signer,
    store: &Store,
    next: &AtomicUsize,
    send: &mpsc::Sender<(usize, Outcome)>,
) {
    let setup = Marker::new(key, config.embed.clone()).and_then(|marker| {
        let registry = store.open_registry()?.registry;
        Ok((marker.with_replace(Replace::No), registry))
    });
    let (mut marker, mut registry) = match setup {
        Ok(s) => s,
        Err(e) => {
            // Every work this thread would have taken fails with the same reason.
            let message = e.to_string();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= items.len() {
                    return;
                }
                let error = Error::Invalid(message.clone());
                if send.send((index, Outcome::Failed(error))).is_err() {
                    return;
                }
            }
        }
    };
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(item) = items.get(index) else {
            return;
        };
        let outcome = match already_marked(item, &registry) {
            Ok(Some(work_id)) => Outcome::AlreadyMarked { work_id },
            Ok(None) => {
                match marker.mark_file(&item.input, &item.output, &item.info, signer, &mut registry)
                {
                    Ok(marked) => Outcome::Marked(marked),
                    Err(e) => Outcome::Failed(name_input(e, &item.input)),
                }
            }
            Err(e) => Outcome::Failed(e),
        };
        if send.send((index, outcome)).is_err() {
            return;
        }
    }
}

/// The registered work whose marked file is `item.output` as it is now, if any. An output
/// that exists but is not a registered work of this path is an error: it is never replaced.
fn already_marked(item: &Item, registry: &inkseal_registry::Registry) -> Result<Option<WorkId>> {
    let sha = match crate::verify::sha256_file(&item.output) {
        Ok(sha) => sha,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::file(
                format!("cannot read {}", item.output.display()),
                e,
            ));
        }
    };
    let here = std::path::absolute(&item.output).ok();
    let works = registry
        .find_by_sha256(&sha)
        .map_err(|e| Error::registry(format!("registry {}", registry.path().display()), e))?;
    match works
        .iter()
        .find(|w| w.output_path.is_some() && w.output_path == here)
    {
        Some(work) => Ok(Some(WorkId(work.id))),
        None => Err(Error::Invalid(format!(
            "{} already exists and is not a work of this registry; it is never replaced (move it \
             away, or choose another output folder)",
            item.output.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn titles_come_from_file_names() {
        assert_eq!(
            title_from_name(Path::new("a/harbour_at-dusk.png")),
            "harbour at dusk"
        );
        assert_eq!(title_from_name(Path::new("  x__y .jpg")), "x y");
    }

    #[test]
    fn a_plan_lists_images_and_applies_the_sidecar() -> TestResult {
        let dir = tempfile::tempdir()?;
        let src = dir.path().join("portfolio");
        fs::create_dir(&src)?;
        for name in [
            "b_sea.png",
            "a-dunes.jpg",
            ".hidden.png",
            "notes.txt",
            "c.gif",
        ] {
            fs::write(src.join(name), b"x")?;
        }
        fs::create_dir(src.join("sub.png"))?;
        let sidecar = dir.path().join("works.csv");
        fs::write(
            &sidecar,
            "file,title,license,allow_training\nb_sea.png,The Sea,CC-BY-4.0,yes\n",
        )?;
        let defaults = Defaults {
            artist: "A. Painter".into(),
            license: Some("all rights reserved".into()),
            training_allowed: false,
        };
        let out = dir.path().join("out");
        let items = plan(&src, &out, &defaults, Some(&sidecar))?;
        let got: Vec<(String, String, Option<String>, bool)> = items
            .iter()
            .map(|i| {
                (
                    i.output
                        .strip_prefix(&out)
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    i.info.title.clone(),
                    i.info.license.clone(),
                    i.info.training_allowed,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "a-dunes.jpg".into(),
                    "a dunes".into(),
                    Some("all rights reserved".into()),
                    false
                ),
                (
                    "b_sea.png".into(),
                    "The Sea".into(),
                    Some("CC-BY-4.0".into()),
                    true
                ),
            ]
        );

        // JSON sidecars name the same fields; a file that is not in the folder is an error.
        let json = dir.path().join("works.json");
        fs::write(
            &json,
            r#"[{"file": "a-dunes.jpg", "title": "Dunes", "allow_training": false}]"#,
        )?;
        assert_eq!(
            plan(&src, &out, &defaults, Some(&json))?[0].info.title,
            "Dunes"
        );
        fs::write(&json, r#"[{"file": "missing.png", "title": "?"}]"#)?;
        let err = plan(&src, &out, &defaults, Some(&json))
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("\"missing.png\" is not an image")));
        fs::write(&sidecar, "file,titel\na-dunes.jpg,x\n")?;
        assert!(plan(&src, &out, &defaults, Some(&sidecar)).is_err());

        // Never into the input folder, under any name.
        let err = plan(&src, &src.join("."), &defaults, None)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("is the input folder")));
        Ok(())
    }
}
