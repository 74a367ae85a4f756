//! Export and import of the complete works as one JSON document.

use std::io::Read;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use rusqlite::{OptionalExtension as _, TransactionBehavior, params};

use crate::error::SqlContext as _;
use crate::error::{Error, Result};
use crate::hexfmt;
use crate::registry::{Registry, WORK_COLUMNS, id_to_sql, raw_work_at};
use crate::time;
use crate::work::Work;

/// The `format` string of an export document.
pub const EXPORT_FORMAT: &str = "inkseal-registry-v1";

/// An export document: `{"format": "inkseal-registry-v1", "works": [...]}`.
#[derive(Serialize)]
struct ExportDocument<'a> {
    format: &'a str,
    works: &'a [Work],
}

/// What [`Registry::import`] did. Work IDs serialize as 16 hex digits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Works added.
    pub added: usize,
    /// Works already in the registry with exactly the same content.
    pub skipped_identical: usize,
    /// IDs already in the registry with different content (or a pending `mark`): the
    /// registry's version was kept.
    #[serde(serialize_with = "hexfmt::u64_hex_list::serialize")]
    pub conflicts: Vec<u64>,
}

impl Registry {
    /// All complete works as an export document:
    /// `{"format": "inkseal-registry-v1", "works": [...]}`, each work as [`Work`] serializes,
    /// oldest first.
    pub fn export(&self) -> Result<serde_json::Value> {
        let works = self.list()?;
        serde_json::to_value(ExportDocument {
            format: EXPORT_FORMAT,
            works: &works,
        })
        .map_err(|e| Error::Format(e.to_string()))
    }

    /// The export document as pretty-printed JSON text, fields in [`Work`]'s declaration
    /// order whatever serde_json features the build enables (for files and golden tests).
    pub fn export_json(&self) -> Result<String> {
        let works = self.list()?;
        serde_json::to_string_pretty(&ExportDocument {
            format: EXPORT_FORMAT,
            works: &works,
        })
        .map_err(|e| Error::Format(e.to_string()))
    }

    /// Imports an export document in one transaction: every work is added, or none is.
    ///
    /// A work whose ID is new is added as complete; one already present with identical
    /// content is skipped; one present with different content is a conflict: reported, never
    /// overwritten. A document with another `format`, or any invalid work, is refused with
    /// [`Error::Format`] and nothing is written.
    pub fn import(&mut self, document: &serde_json::Value) -> Result<ImportReport> {
        let object = document
            .as_object()
            .ok_or_else(|| Error::Format("the document is not a JSON object".into()))?;
        match object.get("format") {
            Some(serde_json::Value::String(f)) => check_format(f)?,
            _ => return Err(no_format()),
        }
        if let Some(extra) = object.keys().find(|k| *k != "format" && *k != "works") {
            return Err(Error::Format(format!("unknown field {extra:?}")));
        }
        let items = object
            .get("works")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| Error::Format("no \"works\" array".into()))?;
        let mut no_check = |_: &Work| Ok(());
        let mut import = Import::begin(self, &mut no_check)?;
        for (i, item) in items.iter().enumerate() {
            let work =
                Work::deserialize(item).map_err(|e| Error::Format(format!("works[{i}]: {e}")))?;
            import.add(i, work)?;
        }
        import.commit()
    }

    /// [`import`](Registry::import) from JSON text.
    pub fn import_str(&mut self, json: &str) -> Result<ImportReport> {
        self.import_reader(json.as_bytes())
    }

    /// [`import`](Registry::import) from a stream of JSON, read work by work: memory stays
    /// that of one work whatever the size of the document. No JSON string may be longer
    /// than [`MAX_IMPORT_STRING`] (a manifest of [`MAX_MANIFEST_BYTES`] in hex), and no
    /// manifest larger than [`MAX_MANIFEST_BYTES`]; the document is refused when one is, as
    /// soon as it is met.
    pub fn import_reader(&mut self, reader: impl Read) -> Result<ImportReport> {
        self.import_reader_checked(reader, &mut |_| Ok(()))
    }

    /// [`import_reader`](Registry::import_reader), with every work also passed to `check`
    /// before it is added: when `check` refuses one (its message says why), the whole
    /// document is refused with [`Error::Format`] naming the work, and nothing is written.
    ///
    /// The registry does not read manifests; a caller that imports a document from someone
    /// else checks here that each work's manifest belongs to it (its soft binding names the
    /// work's ID, as `inkseal-core` does).
    pub fn import_reader_checked(
        &mut self,
        reader: impl Read,
        check: &mut dyn FnMut(&Work) -> std::result::Result<(), String>,
    ) -> Result<ImportReport> {
        let mut import = Import::begin(self, check)?;
        let mut failure = None;
        let mut at = None;
        let mut de =
            serde_json::Deserializer::from_reader(StringCap::new(reader, MAX_IMPORT_STRING));
        let parsed = DocumentSeed {
            import: &mut import,
            failure: &mut failure,
            at: &mut at,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        match parsed {
            Ok(()) => import.commit(),
            Err(e) => Err(match failure {
                Some(error) => error,
                None if e.is_io() => Error::Format(format!("cannot read the document: {e}")),
                None if e.is_syntax() || e.is_eof() => Error::Format(format!("not JSON: {e}")),
                None => match at {
                    Some(i) => Error::Format(format!("works[{i}]: {e}")),
                    None => Error::Format(e.to_string()),
                },
            }),
        }
    }
}

/// The largest manifest a work may carry in an import (64 MiB, as the largest manifest
/// store `inkseal-c2pa` reads).
pub const MAX_MANIFEST_BYTES: usize = 64 << 20;

/// The longest JSON string [`Registry::import_reader`] reads: a manifest of
/// [`MAX_MANIFEST_BYTES`] in hex, with room to spare.
pub const MAX_IMPORT_STRING: u64 = 2 * MAX_MANIFEST_BYTES as u64 + 1024;

fn check_format(format: &str) -> Result<()> {
    if format == EXPORT_FORMAT {
        Ok(())
    } else {
        Err(Error::Format(format!(
            "format is {format:?}, expected {EXPORT_FORMAT:?}"
        )))
    }
}

fn no_format() -> Error {
    Error::Format(format!("no \"format\": {EXPORT_FORMAT:?} field"))
}

/// An import under way: one transaction, works added one at a time.
struct Import<'r> {
    tx: rusqlite::Transaction<'r>,
    ctx: &'r crate::error::Ctx,
    now_unix: i64,
    report: ImportReport,
    check: &'r mut dyn FnMut(&Work) -> std::result::Result<(), String>,
}

impl<'r> Import<'r> {
    fn begin(
        registry: &'r mut Registry,
        check: &'r mut dyn FnMut(&Work) -> std::result::Result<(), String>,
    ) -> Result<Import<'r>> {
        let tx = registry
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&registry.ctx)?;
        Ok(Import {
            tx,
            ctx: &registry.ctx,
            now_unix: time::now_unix(),
            report: ImportReport::default(),
            check,
        })
    }

    /// Adds `works[i]` (or counts it as identical, or as a conflict).
    fn add(&mut self, i: usize, work: Work) -> Result<()> {
        validate(&work)
            .and_then(|()| (self.check)(&work))
            .map_err(|e| Error::Format(format!("works[{i}] ({:016x}): {e}", work.id)))?;
        let existing = self
            .tx
            .query_row(
                &format!("SELECT state, {WORK_COLUMNS} FROM works WHERE id = ?1"),
                [id_to_sql(work.id)],
                |r| {
                    let state: String = r.get(0)?;
                    Ok((state, raw_work_at(r, 1)?))
                },
            )
            .optional()
            .ctx(self.ctx)?;
        match existing {
            None => {
                insert_complete(&self.tx, &work, self.now_unix).ctx(self.ctx)?;
                self.report.added += 1;
            }
            Some((state, raw)) => {
                let same =
                    state == "complete" && raw.into_work(self.ctx).ok().as_ref() == Some(&work);
                if same {
                    self.report.skipped_identical += 1;
                } else {
                    self.report.conflicts.push(work.id);
                }
            }
        }
        Ok(())
    }

    /// Commits; dropping an import instead rolls everything back.
    fn commit(self) -> Result<ImportReport> {
        self.tx.commit().ctx(self.ctx)?;
        Ok(self.report)
    }
}

/// The export document, read key by key, its works added as they come.
struct DocumentSeed<'a, 'r> {
    import: &'a mut Import<'r>,
    /// Our own error, when one stopped the parse (serde's error then only says where).
    failure: &'a mut Option<Error>,
    /// The index of the work being read.
    at: &'a mut Option<usize>,
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an export document (a JSON object with \"format\" and \"works\")")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let fail = |failure: &mut Option<Error>, e: Error| {
            let text = e.to_string();
            *failure = Some(e);
            A::Error::custom(text)
        };
        let (mut format, mut works) = (false, false);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "format" => {
                    let value: String = map.next_value()?;
                    check_format(&value).map_err(|e| fail(self.failure, e))?;
                    format = true;
                }
                "works" => {
                    map.next_value_seed(WorksSeed {
                        import: &mut *self.import,
                        failure: &mut *self.failure,
                        at: &mut *self.at,
                    })?;
                    *self.at = None;
                    works = true;
                }
                other => {
                    let e = Error::Format(format!("unknown field {other:?}"));
                    return Err(fail(self.failure, e));
                }
            }
        }
        if !format {
            return Err(fail(self.failure, no_format()));
        }
        if !works {
            return Err(fail(
                self.failure,
                Error::Format("no \"works\" array".into()),
            ));
        }
        Ok(())
    }
}

/// The `works` array, each element added as soon as it is read.
struct WorksSeed<'a, 'r> {
    import: &'a mut Import<'r>,
    failure: &'a mut Option<Error>,
    at: &'a mut Option<usize>,
}

impl<'de> DeserializeSeed<'de> for WorksSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for WorksSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of works")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        for i in 0.. {
            *self.at = Some(i);
            let Some(work) = seq.next_element::<Work>()? else {
                break;
            };
            if let Err(e) = self.import.add(i, work) {
                let text = e.to_string();
                *self.failure = Some(e);
                return Err(A::Error::custom(text));
            }
        }
        Ok(())
    }
}

/// A reader that fails once a JSON string runs longer than `max` bytes, so that the parser
/// never buffers more than that for one value.
struct StringCap<R> {
    inner: R,
    max: u64,
    in_string: bool,
    escaped: bool,
    run: u64,
}

impl<R: Read> StringCap<R> {
    fn new(inner: R, max: u64) -> Self {
        StringCap {
            inner,
            max,
            in_string: false,
            escaped: false,
            run: 0,
        }
    }
}

impl<R: Read> Read for StringCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if self.in_string {
                self.run += 1;
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                if self.run > self.max {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "a string in the document is longer than {} bytes (manifests are \
                             at most {MAX_MANIFEST_BYTES} bytes)",
                            self.max
                        ),
                    ));
                }
            } else if b == b'"' {
                self.in_string = true;
                self.run = 0;
            }
        }
        Ok(n)
    }
}

fn insert_complete(
    conn: &rusqlite::Connection,
    work: &Work,
    now_unix: i64,
) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO works (id, state, title, artist, license, training_allowed, created, \
         sha256, phash, manifest, key_id, output_path, reserved_unix) \
         VALUES (?1, 'complete', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            id_to_sql(work.id),
            work.title,
            work.artist,
            work.license,
            work.training_allowed,
            work.created,
            hex::encode(work.sha256),
            hexfmt::u64_to_hex(work.phash),
            work.manifest,
            work.key_id,
            work.output_path.as_ref().and_then(|p| p.to_str()),
            now_unix,
        ],
    )
}

fn validate(work: &Work) -> std::result::Result<(), String> {
    if work.id == 0 {
        return Err("work ID 0 is never allocated".into());
    }
    if work.manifest.len() > MAX_MANIFEST_BYTES {
        return Err(format!(
            "the manifest is {} bytes; the limit is {MAX_MANIFEST_BYTES}",
            work.manifest.len()
        ));
    }
    if !time::is_rfc3339_utc(&work.created) {
        return Err(format!(
            "created {:?} is not an RFC 3339 UTC time",
            work.created
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_longer_than_the_cap_stop_the_read() {
        let read = |text: &str, max| {
            let mut out = Vec::new();
            StringCap::new(text.as_bytes(), max)
                .read_to_end(&mut out)
                .map_err(|e| e.to_string())
        };
        // Escaped quotes stay inside the string; text between strings is not counted.
        assert!(read(r#"{"a": "x\"yz", "bb": 1234567890}"#, 6).is_ok());
        let err = read(r#"{"a": "0123456789"}"#, 6).err();
        assert_eq!(
            err.as_deref(),
            Some(
                "a string in the document is longer than 6 bytes (manifests are at most \
                 67108864 bytes)"
            )
        );
    }

    #[test]
    fn a_stream_is_imported_whatever_the_order_of_its_fields() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::Format(e.to_string()))?;
        let mut registry = Registry::open(dir.path().join("r.sqlite"))?;
        let work = r#"{"id": "00000000000000aa", "title": "T", "artist": "A", "license": null,
            "training_allowed": false, "created": "2026-05-01T12:34:56.789Z",
            "sha256": "0000000000000000000000000000000000000000000000000000000000000001",
            "phash": "0000000000000002", "key_id": "k", "output_path": null,
            "manifest": "abcd"}"#;
        // Works first, then a wrong format: the works read so far are rolled back.
        let wrong = format!(r#"{{"works": [{work}], "format": "inkseal-registry-v9"}}"#);
        let err = registry.import_reader(wrong.as_bytes()).err();
        assert!(
            matches!(&err, Some(Error::Format(m)) if m.contains("inkseal-registry-v9")),
            "{err:?}"
        );
        assert!(registry.list()?.is_empty());
        let right = format!(r#"{{"works": [{work}], "format": "{EXPORT_FORMAT}"}}"#);
        let report = registry.import_reader(right.as_bytes())?;
        assert_eq!(report.added, 1);
        // A bad second work names its index; nothing of the document is kept.
        let bad = format!(
            r#"{{"format": "{EXPORT_FORMAT}", "works": [{}, {}]}}"#,
            work.replace("aa", "bb"),
            work.replace("aa", "cc").replace("\"T\"", "7")
        );
        let err = registry.import_reader(bad.as_bytes()).err();
        assert!(
            matches!(&err, Some(Error::Format(m)) if m.starts_with("works[1]: invalid type")),
            "{err:?}"
        );
        assert_eq!(registry.list()?.len(), 1);
        Ok(())
    }
}
