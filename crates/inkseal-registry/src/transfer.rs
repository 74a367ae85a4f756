//! Export and import of the complete works as one JSON document.

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
    /// [`Error::Format`] before anything is written.
    pub fn import(&mut self, document: &serde_json::Value) -> Result<ImportReport> {
        let works = parse_document(document)?;
        let now_unix = time::now_unix();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&self.ctx)?;
        let mut report = ImportReport::default();
        for work in works {
            let existing = tx
                .query_row(
                    &format!("SELECT state, {WORK_COLUMNS} FROM works WHERE id = ?1"),
                    [id_to_sql(work.id)],
                    |r| {
                        let state: String = r.get(0)?;
                        Ok((state, raw_work_at(r, 1)?))
                    },
                )
                .optional()
                .ctx(&self.ctx)?;
            match existing {
                None => {
                    insert_complete(&tx, &work, now_unix).ctx(&self.ctx)?;
                    report.added += 1;
                }
                Some((state, raw)) => {
                    let same = state == "complete"
                        && raw.into_work(&self.ctx).ok().as_ref() == Some(&work);
                    if same {
                        report.skipped_identical += 1;
                    } else {
                        report.conflicts.push(work.id);
                    }
                }
            }
        }
        tx.commit().ctx(&self.ctx)?;
        Ok(report)
    }

    /// [`import`](Registry::import) from JSON text.
    pub fn import_str(&mut self, json: &str) -> Result<ImportReport> {
        let document: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::Format(format!("not JSON: {e}")))?;
        self.import(&document)
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

/// The works of a valid export document.
fn parse_document(document: &serde_json::Value) -> Result<Vec<Work>> {
    let object = document
        .as_object()
        .ok_or_else(|| Error::Format("the document is not a JSON object".into()))?;
    match object.get("format") {
        Some(serde_json::Value::String(f)) if f == EXPORT_FORMAT => {}
        Some(serde_json::Value::String(f)) => {
            return Err(Error::Format(format!(
                "format is {f:?}, expected {EXPORT_FORMAT:?}"
            )));
        }
        _ => {
            return Err(Error::Format(format!(
                "no \"format\": {EXPORT_FORMAT:?} field"
            )));
        }
    }
    if let Some(extra) = object.keys().find(|k| *k != "format" && *k != "works") {
        return Err(Error::Format(format!("unknown field {extra:?}")));
    }
    let items = object
        .get("works")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| Error::Format("no \"works\" array".into()))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let work =
                Work::deserialize(item).map_err(|e| Error::Format(format!("works[{i}]: {e}")))?;
            validate(&work)
                .map_err(|e| Error::Format(format!("works[{i}] ({:016x}): {e}", work.id)))?;
            Ok(work)
        })
        .collect()
}

fn validate(work: &Work) -> std::result::Result<(), String> {
    if work.id == 0 {
        return Err("work ID 0 is never allocated".into());
    }
    if !time::is_rfc3339_utc(&work.created) {
        return Err(format!(
            "created {:?} is not an RFC 3339 UTC time",
            work.created
        ));
    }
    Ok(())
}
