//! Rows keep their identity: a Parquet sample is reported with its Hugging Face image path
//! and the columns named with `--with` (the URL it was scraped from, its caption).
//! Needs the watermark.

use std::path::Path;
use std::sync::Arc;

use parquet::data_type::{ByteArray, ByteArrayType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::support::*;

/// One leaf column: its cells (`None` is null) and each row's definition level.
type Column = (Vec<Option<Vec<u8>>>, Vec<i16>);

/// A Hugging Face style shard: `image struct<bytes, path>`, `url`, `caption`; row 1 marked
/// with `id`, row 0 not, row 2's caption null.
fn shard(dir: &Path, id: &str) -> std::path::PathBuf {
    let plain = save(&coffee_crop(0, 0, 256), dir, "plain.png");
    let marked = dir.join("marked.png");
    embed_ok(
        &save(&coffee_crop(200, 100, 256), dir, "src.png"),
        &marked,
        &["--id", id],
    );
    let other = save(&coffee_crop(340, 140, 256), dir, "other.png");
    let images: Vec<Vec<u8>> = [&plain, &marked, &other]
        .iter()
        .map(|p| std::fs::read(p).expect("image reads"))
        .collect();
    let path = dir.join("train-00000-of-00001.parquet");
    let schema = Arc::new(
        parse_message_type(
            "message schema {
                optional group image { optional binary bytes; optional binary path (STRING); }
                optional binary url (STRING);
                optional binary caption (STRING);
            }",
        )
        .expect("schema parses"),
    );
    let file = std::fs::File::create(&path).expect("file creates");
    let mut writer = SerializedFileWriter::new(file, schema, Arc::new(WriterProperties::default()))
        .expect("writer");
    let mut rg = writer.next_row_group().expect("row group");
    let text = |s: &str| Some(s.as_bytes().to_vec());
    let columns: Vec<Column> = vec![
        (images.into_iter().map(Some).collect(), vec![2, 2, 2]),
        (
            vec![text("cup.png"), text("harbour.png"), text("dunes.png")],
            vec![2, 2, 2],
        ),
        (
            vec![
                text("https://a.example/1"),
                text("https://a.example/2"),
                text("https://a.example/3"),
            ],
            vec![1, 1, 1],
        ),
        (vec![text("a cup"), text("a harbour"), None], vec![1, 1, 0]),
    ];
    let mut columns = columns.into_iter();
    while let Some(mut col) = rg.next_column().expect("column") {
        let (cells, defs) = columns.next().expect("a column for each leaf");
        let values: Vec<ByteArray> = cells.into_iter().flatten().map(ByteArray::from).collect();
        col.typed::<ByteArrayType>()
            .write_batch(&values, Some(&defs), None)
            .expect("batch writes");
        col.close().expect("column closes");
    }
    rg.close().expect("row group closes");
    writer.close().expect("file closes");
    path
}

#[test]
fn parquet_samples_carry_their_path_and_the_named_columns() -> TestResult {
    let dir = tempfile::tempdir()?;
    let id = "00c0ffee00c0ffee";
    let shard = shard(dir.path(), id);

    let out = inkseal()
        .args(["scan", "--json", "--with", "url,caption"])
        .arg(&shard)
        .output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let samples: Vec<serde_json::Value> = stdout_of(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .filter(|r: &serde_json::Value| r["type"] == "sample")
        .collect();
    let got: Vec<(String, bool, String, String, serde_json::Value)> = samples
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap_or("").to_string(),
                s["detected"].as_bool().unwrap_or(false),
                s["path"].as_str().unwrap_or("").to_string(),
                s["with"]["url"].as_str().unwrap_or("").to_string(),
                s["with"]["caption"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "0".into(),
                false,
                "cup.png".into(),
                "https://a.example/1".into(),
                "a cup".into()
            ),
            (
                "1".into(),
                true,
                "harbour.png".into(),
                "https://a.example/2".into(),
                "a harbour".into()
            ),
            (
                "2".into(),
                false,
                "dunes.png".into(),
                "https://a.example/3".into(),
                serde_json::Value::Null
            ),
        ]
    );
    assert_eq!(samples[1]["work_id"], id);

    // CSV: the fixed columns, then the image path and one column per carried column.
    let out = inkseal()
        .args(["scan", "--csv", "--with", "url,caption"])
        .arg(&shard)
        .output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let mut csv = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = csv.headers()?.iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "type",
            "source",
            "member",
            "key",
            "detected",
            "work_id",
            "p_value",
            "title",
            "artist",
            "error",
            "path",
            "with.url",
            "with.caption"
        ]
    );
    let rows: Vec<csv::StringRecord> = csv.records().collect::<Result<_, _>>()?;
    assert_eq!(rows.len(), 3);
    assert_eq!(
        (&rows[1][5], &rows[1][10], &rows[1][11], &rows[1][12]),
        (id, "harbour.png", "https://a.example/2", "a harbour")
    );
    assert_eq!(&rows[2][12], "");

    // A column the file does not have is an error record for the file, not silent nulls.
    let out = inkseal()
        .args(["scan", "--json", "--with", "source_url"])
        .arg(&shard)
        .output()?;
    let text = stdout_of(&out);
    assert!(text.contains("\\\"source_url\\\""), "{text}");
    assert!(!text.contains("\"type\":\"sample\""), "{text}");
    Ok(())
}
