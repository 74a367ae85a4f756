//! End-to-end scans of small datasets built at test time in every supported format.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use image::{ImageEncoder, RgbImage};
use inkseal_mark::{EmbedConfig, Embedder, ImageMut, Key, PixelLayout, WorkId};
use inkseal_scan::{
    Event, Input, Record, ScanConfig, Scanner, Summary, is_image_name, webdataset_key,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const ID_A: u64 = 0x0a0a_1111_2222_3333;
const ID_B: u64 = 0x0b0b_4444_5555_6666;
const ID_C: u64 = 0x0c0c_7777_8888_9999;

fn hex(id: u64) -> String {
    format!("{id:016x}")
}

/// Encoded test samples, made once: (key suffix, bytes).
struct Fixtures {
    marked_a: Vec<u8>,
    unmarked: Vec<u8>,
    attacked_b: Vec<u8>,
    corrupt: Vec<u8>,
    marked_c: Vec<u8>,
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    encoder
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("JPEG encoding of a test image");
    out
}

fn mark(img: &RgbImage, id: u64) -> RgbImage {
    let mut img = img.clone();
    let (w, h) = img.dimensions();
    let mut embedder =
        Embedder::new(&Key::public(), EmbedConfig::default()).expect("embedder for the test key");
    embedder
        .embed(
            ImageMut::new(&mut img, w, h, PixelLayout::Rgb8).expect("test image buffer"),
            WorkId(id),
        )
        .expect("marking a test image");
    img
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/coffee.png");
        let coffee = image::open(&path).expect("testdata/coffee.png").to_rgb8();
        let crop = |x: u32, y: u32, w: u32, h: u32| {
            image::imageops::crop_imm(&coffee, x, y, w, h).to_image()
        };
        let marked_a = jpeg(&mark(&crop(0, 0, 320, 320), ID_A), 90);
        let unmarked = jpeg(&crop(200, 40, 320, 320), 90);
        // Attacked: marked at full size, then halved and recompressed at quality 75.
        let full = mark(&coffee, ID_B);
        let half = image::imageops::resize(
            &full,
            full.width() / 2,
            full.height() / 2,
            image::imageops::FilterType::Triangle,
        );
        let attacked_b = jpeg(&half, 75);
        // Corrupt: a JPEG header followed by garbage.
        let mut corrupt = unmarked[..300].to_vec();
        corrupt.extend(std::iter::repeat_n(0x5a, 2000));
        let marked_c = jpeg(&mark(&crop(280, 80, 320, 320), ID_C), 85);
        Fixtures {
            marked_a,
            unmarked,
            attacked_b,
            corrupt,
            marked_c,
        }
    })
}

/// img2dataset's shard layout: per sample `{key}.jpg`, `{key}.txt`, `{key}.json`.
fn shard_members() -> Vec<(String, Vec<u8>)> {
    let f = fixtures();
    let images: [&Vec<u8>; 5] = [
        &f.marked_a,
        &f.unmarked,
        &f.attacked_b,
        &f.corrupt,
        &f.marked_c,
    ];
    let mut out = Vec::new();
    for (i, bytes) in images.into_iter().enumerate() {
        let key = format!("{i:05}");
        out.push((format!("{key}.jpg"), bytes.clone()));
        out.push((format!("{key}.txt"), format!("caption {i}").into_bytes()));
        out.push((
            format!("{key}.json"),
            format!("{{\"key\": \"{key}\", \"status\": \"success\"}}").into_bytes(),
        ));
    }
    out
}

/// Detections and errors expected from `shard_members`, keyed by sample key.
fn expected_shard() -> (BTreeMap<String, String>, BTreeSet<String>) {
    let detections = [("00000", ID_A), ("00002", ID_B), ("00004", ID_C)]
        .into_iter()
        .map(|(k, id)| (k.to_string(), hex(id)))
        .collect();
    let errors = ["00003".to_string()].into_iter().collect();
    (detections, errors)
}

fn tar_bytes(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .expect("tar member");
    }
    builder.into_inner().expect("tar archive")
}

fn zip_bytes(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        zip.start_file(name.as_str(), options).expect("zip member");
        zip.write_all(bytes).expect("zip member data");
    }
    zip.finish().expect("zip archive").into_inner()
}

struct Outcome {
    records: Vec<Record>,
    summary: Summary,
}

impl Outcome {
    /// Sample key -> work ID for every detection.
    fn detections(&self) -> BTreeMap<String, String> {
        self.records
            .iter()
            .filter_map(|r| match r {
                Record::Sample(s) if s.detected => {
                    Some((s.key.clone(), s.work_id.clone().unwrap_or_default()))
                }
                _ => None,
            })
            .collect()
    }

    /// Keys of samples searched (detected or not).
    fn sample_keys(&self) -> Vec<String> {
        self.records
            .iter()
            .filter_map(|r| match r {
                Record::Sample(s) => Some(s.key.clone()),
                _ => None,
            })
            .collect()
    }

    /// Error key (or `-` for a whole-input error) -> message.
    fn errors(&self) -> BTreeMap<String, String> {
        self.records
            .iter()
            .filter_map(|r| match r {
                Record::Error(e) => {
                    Some((e.key.clone().unwrap_or_else(|| "-".into()), e.error.clone()))
                }
                _ => None,
            })
            .collect()
    }

    fn error_keys(&self) -> BTreeSet<String> {
        self.errors().into_keys().collect()
    }
}

fn scan_with(paths: &[PathBuf], config: ScanConfig) -> Outcome {
    let scanner = Scanner::new(&Key::public(), config).expect("scanner");
    let inputs: Vec<Input> = paths
        .iter()
        .map(|p| Input::from_path(p).expect("input"))
        .collect();
    let mut records = Vec::new();
    let summary = scanner
        .scan(&inputs, |r| records.push(r))
        .expect("scan runs");
    assert_eq!(
        summary.samples + summary.errors,
        records.len() as u64,
        "the summary counts every record"
    );
    Outcome { records, summary }
}

fn scan(paths: &[PathBuf]) -> Outcome {
    scan_with(paths, ScanConfig::default().with_threads(2))
}

fn assert_shard(outcome: &Outcome) {
    let (detections, errors) = expected_shard();
    assert_eq!(outcome.detections(), detections);
    assert_eq!(outcome.error_keys(), errors, "{:?}", outcome.errors());
    // Captions and JSON metadata are neither samples nor errors.
    assert_eq!(outcome.sample_keys(), ["00000", "00001", "00002", "00004"]);
    assert_eq!(outcome.summary.samples, 4);
    assert_eq!(outcome.summary.detected, 3);
    assert_eq!(outcome.summary.errors, 1);
    assert_eq!(outcome.summary.per_work.get(&hex(ID_B)), Some(&1));
}

#[test]
fn webdataset_tar_shard_in_img2dataset_layout() -> TestResult {
    let dir = tempfile::tempdir()?;
    let shard = dir.path().join("00000.tar");
    std::fs::write(&shard, tar_bytes(&shard_members()))?;
    let outcome = scan(std::slice::from_ref(&shard));
    assert_shard(&outcome);
    for record in &outcome.records {
        if let Record::Sample(s) = record {
            assert_eq!(s.source, shard.display().to_string());
            assert_eq!(s.member.as_deref(), Some(format!("{}.jpg", s.key).as_str()));
        }
    }
    let errors = outcome.errors();
    assert!(errors["00003"].contains("decode"), "{errors:?}");
    Ok(())
}

#[test]
fn gzipped_shard_gives_the_same_records() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar_bytes(&shard_members()))?;
    let gz_bytes = gz.finish()?;
    for name in ["00001.tar.gz", "00002.tgz"] {
        let shard = dir.path().join(name);
        std::fs::write(&shard, &gz_bytes)?;
        assert_eq!(
            Input::from_path(&shard)?,
            Input::Tar {
                path: shard.clone(),
                gzip: true
            }
        );
        assert_shard(&scan(&[shard]));
    }
    Ok(())
}

#[test]
fn folder_is_walked_recursively_and_skips_non_images() -> TestResult {
    let dir = tempfile::tempdir()?;
    let nested = dir.path().join("part-1");
    std::fs::create_dir(&nested)?;
    for (name, bytes) in shard_members() {
        // Samples 00003 and 00004 go one folder down.
        let target = if name.starts_with("00003") || name.starts_with("00004") {
            nested.join(&name)
        } else {
            dir.path().join(&name)
        };
        std::fs::write(target, bytes)?;
    }
    let outcome = scan(&[dir.path().to_path_buf()]);
    assert_shard(&outcome);
    for record in &outcome.records {
        if let Record::Sample(s) = record {
            assert_eq!(s.member, None);
            assert!(
                s.source.ends_with(&format!("{}.jpg", s.key)),
                "{}",
                s.source
            );
        }
    }
    Ok(())
}

#[test]
fn bytes_in_memory_get_exactly_the_scans_results() -> TestResult {
    let dir = tempfile::tempdir()?;
    let members = shard_members();
    for (name, bytes) in &members {
        std::fs::write(dir.path().join(name), bytes)?;
    }
    let outcome = scan(&[dir.path().to_path_buf()]);
    let scanner = Scanner::new(&Key::public(), ScanConfig::default().with_threads(2))?;
    let images: Vec<&[u8]> = members
        .iter()
        .filter(|(name, _)| is_image_name(name))
        .map(|(_, b)| b.as_slice())
        .collect();
    let keys: Vec<String> = members
        .iter()
        .filter(|(name, _)| is_image_name(name))
        .map(|(name, _)| webdataset_key(name))
        .collect();
    let results = scanner.detect_bytes(&images);
    assert_eq!(results.len(), images.len());
    for (key, result) in keys.iter().zip(&results) {
        let record = outcome
            .records
            .iter()
            .find(|r| match r {
                Record::Sample(s) => &s.key == key,
                Record::Error(e) => e.key.as_ref() == Some(key),
                _ => false,
            })
            .ok_or("a record for each image")?;
        match (record, result) {
            (Record::Sample(s), Ok(d)) => {
                assert_eq!(s.detected, d.detected, "{key}");
                assert_eq!(
                    s.work_id,
                    d.work_id.filter(|_| d.detected).map(|w| w.to_string())
                );
                assert_eq!(s.p_value.to_bits(), d.p_value.to_bits(), "{key}");
            }
            (Record::Error(e), Err(err)) => {
                let one_line = err
                    .to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                assert_eq!(e.error, one_line, "{key}");
            }
            (r, d) => return Err(format!("{key}: scan {r:?} but bytes {d:?}").into()),
        }
    }
    Ok(())
}

#[test]
fn zip_archive() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("images.zip");
    std::fs::write(&path, zip_bytes(&shard_members()))?;
    assert_shard(&scan(&[path]));
    Ok(())
}

#[test]
fn truncated_tar_is_an_error_and_the_scan_goes_on() -> TestResult {
    let dir = tempfile::tempdir()?;
    let full = tar_bytes(&shard_members());
    // Cut halfway through the data of 00002.jpg: the six members of samples 00000 and
    // 00001 (a 512-byte header each, data padded to 512) and 00002.jpg's header come first.
    let f = fixtures();
    let before: usize = shard_members()
        .iter()
        .take(6)
        .map(|(_, b)| 512 + b.len().div_ceil(512) * 512)
        .sum();
    let cut = before + 512 + f.attacked_b.len() / 2;
    let truncated = dir.path().join("00003.tar");
    std::fs::write(&truncated, &full[..cut])?;
    let next = dir.path().join("00004.zip");
    std::fs::write(&next, zip_bytes(&shard_members()[12..15]))?;

    let outcome = scan(&[truncated.clone(), next]);
    assert_eq!(
        outcome.detections(),
        [
            ("00000".to_string(), hex(ID_A)),
            ("00004".to_string(), hex(ID_C))
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(outcome.sample_keys(), ["00000", "00001", "00004"]);
    let errors = outcome.errors();
    assert_eq!(
        outcome.error_keys(),
        ["00002".to_string()].into_iter().collect()
    );
    assert!(errors["00002"].contains("truncated"), "{errors:?}");
    Ok(())
}

#[test]
fn mislabelled_files_are_errors_and_the_scan_goes_on() -> TestResult {
    let dir = tempfile::tempdir()?;
    let fake_tar = dir.path().join("a.tar");
    std::fs::write(&fake_tar, vec![7u8; 4096])?;
    let fake_zip = dir.path().join("b.zip");
    std::fs::write(&fake_zip, fixtures().marked_a.clone())?;
    let fake_gz = dir.path().join("c.tar.gz");
    std::fs::write(&fake_gz, b"not gzip")?;
    let fake_parquet = dir.path().join("d.parquet");
    std::fs::write(&fake_parquet, b"PAR")?;
    let good = dir.path().join("e.tar");
    std::fs::write(&good, tar_bytes(&shard_members()[..3]))?;

    let outcome = scan(&[
        fake_tar.clone(),
        fake_zip.clone(),
        fake_gz,
        fake_parquet,
        good,
    ]);
    let messages: Vec<_> = outcome
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Error(e) => Some((e.source.clone(), e.error.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert!(messages[0].1.contains("not a tar"), "{messages:?}");
    assert!(messages[1].1.contains("not a zip"), "{messages:?}");
    assert!(messages[2].1.contains("not a gzip"), "{messages:?}");
    assert!(messages[3].1.contains("not a Parquet"), "{messages:?}");
    assert_eq!(
        outcome.detections(),
        [("00000".to_string(), hex(ID_A))].into_iter().collect()
    );
    Ok(())
}

#[test]
fn unsupported_paths_are_refused_when_classified() -> TestResult {
    let dir = tempfile::tempdir()?;
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "hello")?;
    assert!(matches!(
        Input::from_path(&notes),
        Err(inkseal_scan::Error::UnsupportedInput(_))
    ));
    assert!(matches!(
        Input::from_path(dir.path().join("missing.tar")),
        Err(inkseal_scan::Error::Io(_))
    ));
    let upper = dir.path().join("X.TAR");
    std::fs::write(&upper, b"")?;
    assert_eq!(
        Input::from_path(&upper)?,
        Input::Tar {
            path: upper.clone(),
            gzip: false
        }
    );
    Ok(())
}

#[test]
fn oversized_members_are_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let shard = dir.path().join("s.tar");
    std::fs::write(&shard, tar_bytes(&shard_members()))?;
    let outcome = scan_with(
        &[shard],
        ScanConfig::default()
            .with_threads(2)
            .with_max_member_bytes(1000),
    );
    assert_eq!(outcome.summary.samples, 0);
    assert_eq!(outcome.summary.errors, 5);
    assert!(
        outcome
            .errors()
            .values()
            .all(|e| e.contains("the limit is 1000 bytes")),
        "{:?}",
        outcome.errors()
    );
    Ok(())
}

#[test]
fn record_order_does_not_depend_on_the_thread_count() -> TestResult {
    let dir = tempfile::tempdir()?;
    let shard = dir.path().join("s.tar");
    let mut members = shard_members();
    members.extend(
        shard_members()
            .into_iter()
            .map(|(name, bytes)| (format!("more/{name}"), bytes)),
    );
    std::fs::write(&shard, tar_bytes(&members))?;
    let one = scan_with(
        std::slice::from_ref(&shard),
        ScanConfig::default().with_threads(1),
    );
    let three = scan_with(&[shard], ScanConfig::default().with_threads(3));
    assert_eq!(one.records, three.records);
    assert_eq!(one.records.len(), 10);
    Ok(())
}

#[test]
fn an_expanded_folder_gives_the_same_records_with_one_done_event_per_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let nested = dir.path().join("b-nested");
    std::fs::create_dir(&nested)?;
    let members = shard_members();
    std::fs::write(dir.path().join("a.tar"), tar_bytes(&members))?;
    std::fs::write(nested.join("c.zip"), zip_bytes(&members[..6]))?;
    std::fs::write(dir.path().join("d.jpg"), &fixtures().marked_c)?;
    std::fs::write(dir.path().join("e.txt"), "not an input")?;
    let folder = Input::from_path(dir.path())?;
    let leaves = folder.expand();
    assert_eq!(
        leaves,
        [
            Input::Tar {
                path: dir.path().join("a.tar"),
                gzip: false
            },
            Input::Zip(nested.join("c.zip")),
            Input::Image(dir.path().join("d.jpg")),
        ]
    );
    let scanner = Scanner::new(&Key::public(), ScanConfig::default().with_threads(2))?;
    let mut whole = Vec::new();
    scanner.scan(&[folder], |r| whole.push(r))?;
    let mut events = Vec::new();
    scanner.scan_events(&leaves, |e| {
        events.push(e);
        std::ops::ControlFlow::Continue(())
    })?;
    let records: Vec<Record> = events
        .iter()
        .filter_map(|e| match e {
            Event::Record { record, .. } => Some(record.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(records, whole);
    // Every record names its input, in order, and each input ends with its done event.
    let mut expected_input = 0;
    let mut records_of_input = 0;
    for event in &events {
        match event {
            Event::Record {
                input,
                bytes,
                record,
            } => {
                assert_eq!(*input, expected_input);
                records_of_input += 1;
                if let Record::Sample(_) = record {
                    assert!(*bytes > 0);
                }
            }
            Event::InputDone { input } => {
                assert_eq!(*input, expected_input);
                assert!(records_of_input > 0, "input {input} had no records");
                expected_input += 1;
                records_of_input = 0;
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(expected_input, 3);
    // 5 tar samples, 2 zip samples (00000 and 00001), 1 image.
    assert_eq!(records.len(), 8);
    // A sink that stops after the first input's done event gets nothing more.
    let mut seen = Vec::new();
    let partial = scanner.scan_events(&leaves, |e| {
        let stop = matches!(e, Event::InputDone { .. });
        seen.push(e);
        if stop {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    })?;
    assert_eq!(seen, events[..6]);
    assert_eq!((partial.samples, partial.errors), (4, 1));
    Ok(())
}

#[test]
fn records_serialise_with_a_type_field() -> TestResult {
    let dir = tempfile::tempdir()?;
    let shard = dir.path().join("s.tar");
    std::fs::write(&shard, tar_bytes(&shard_members()[..12]))?;
    let outcome = scan(&[shard]);
    let lines: Vec<serde_json::Value> = outcome
        .records
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    assert_eq!(lines[0]["type"], "sample");
    assert_eq!(lines[0]["key"], "00000");
    assert_eq!(lines[0]["work_id"], hex(ID_A).as_str());
    assert_eq!(lines[1]["work_id"], serde_json::Value::Null);
    assert_eq!(lines[3]["type"], "error");
    assert_eq!(lines[3]["key"], "00003");
    let summary = serde_json::to_value(&outcome.summary)?;
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["per_work"][hex(ID_A)], 1);
    Ok(())
}

mod parquet_files {
    use super::*;
    use parquet::basic::Compression;
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    /// One leaf column of a row group: its cells (`None` is null) and each row's
    /// definition level (a value sits at the column's maximum level).
    type Column = (Vec<Option<Vec<u8>>>, Vec<i16>);

    /// A flat optional column: values at level 1, nulls at 0.
    fn flat(cells: Vec<Option<Vec<u8>>>) -> Column {
        let defs = cells.iter().map(|c| i16::from(c.is_some())).collect();
        (cells, defs)
    }

    fn text(s: &str) -> Option<Vec<u8>> {
        Some(s.as_bytes().to_vec())
    }

    /// Writes a Snappy-compressed Parquet file, one `Vec<Column>` per row group.
    fn write(path: &Path, schema: &str, row_groups: Vec<Vec<Column>>) -> TestResult {
        write_with(path, schema, row_groups, Compression::SNAPPY)
    }

    fn write_with(
        path: &Path,
        schema: &str,
        row_groups: Vec<Vec<Column>>,
        compression: Compression,
    ) -> TestResult {
        let schema = Arc::new(parse_message_type(schema)?);
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(compression)
                .build(),
        );
        let mut writer = SerializedFileWriter::new(std::fs::File::create(path)?, schema, props)?;
        for group in row_groups {
            let mut rg = writer.next_row_group()?;
            let mut columns = group.into_iter();
            while let Some(mut col) = rg.next_column()? {
                let (cells, defs) = columns.next().ok_or("too few columns")?;
                let values: Vec<ByteArray> =
                    cells.into_iter().flatten().map(ByteArray::from).collect();
                col.typed::<ByteArrayType>()
                    .write_batch(&values, Some(&defs), None)?;
                col.close()?;
            }
            rg.close()?;
        }
        writer.close()?;
        Ok(())
    }

    #[test]
    fn hugging_face_image_struct_with_a_null_cell() -> TestResult {
        let f = fixtures();
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("train-00000-of-00001.parquet");
        let schema = "message schema {
            optional group image {
                optional binary bytes;
                optional binary path (STRING);
            }
            optional binary text (STRING);
        }";
        // Two row groups. Row 2's whole image struct is null (level 0); row 4's struct is
        // there but its bytes are null (level 1). Both are "null image cell" errors.
        write(
            &path,
            schema,
            vec![
                vec![
                    (
                        vec![Some(f.marked_a.clone()), Some(f.unmarked.clone())],
                        vec![2, 2],
                    ),
                    (vec![text("a.jpg"), text("b.jpg")], vec![2, 2]),
                    flat(vec![text("first"), text("second")]),
                ],
                vec![
                    (vec![None, Some(f.attacked_b.clone()), None], vec![0, 2, 1]),
                    (vec![None, text("c.jpg"), text("d.jpg")], vec![0, 2, 2]),
                    flat(vec![text("x"), text("y"), None]),
                ],
            ],
        )?;
        let outcome = scan(std::slice::from_ref(&path));
        assert_eq!(
            outcome.detections(),
            [("0".to_string(), hex(ID_A)), ("3".to_string(), hex(ID_B))]
                .into_iter()
                .collect()
        );
        assert_eq!(outcome.sample_keys(), ["0", "1", "3"]);
        let errors = outcome.errors();
        assert_eq!(
            outcome.error_keys(),
            ["2".to_string(), "4".to_string()].into_iter().collect()
        );
        assert!(
            errors.values().all(|e| e == "null image cell"),
            "{errors:?}"
        );
        let members: Vec<_> = outcome
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Sample(s) => s.member.clone(),
                Record::Error(e) => e.member.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(
            members,
            ["image[0]", "image[1]", "image[2]", "image[3]", "image[4]"]
        );

        // Each sample names the struct's own path, and carries the columns asked for.
        let carried = scan_with(
            std::slice::from_ref(&path),
            ScanConfig::default()
                .with_threads(2)
                .with_columns(vec!["text".into()]),
        );
        let identity: Vec<(String, Option<String>, Option<String>)> = carried
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Sample(s) => Some((
                    s.key.clone(),
                    s.path.clone(),
                    s.with.get("text").cloned().flatten(),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            identity,
            [
                ("0".into(), Some("a.jpg".into()), Some("first".into())),
                ("1".into(), Some("b.jpg".into()), Some("second".into())),
                ("3".into(), Some("c.jpg".into()), Some("y".into())),
            ]
        );
        Ok(())
    }

    #[test]
    fn every_common_parquet_codec_is_read() -> TestResult {
        use parquet::basic::{GzipLevel, ZstdLevel};
        let f = fixtures();
        let dir = tempfile::tempdir()?;
        let schema = "message schema {
            optional binary key (STRING);
            optional binary jpg;
        }";
        for (name, codec) in [
            ("none", Compression::UNCOMPRESSED),
            ("snappy", Compression::SNAPPY),
            ("gzip", Compression::GZIP(GzipLevel::default())),
            ("lz4", Compression::LZ4_RAW),
            ("zstd", Compression::ZSTD(ZstdLevel::default())),
        ] {
            let path = dir.path().join(format!("{name}.parquet"));
            write_with(
                &path,
                schema,
                vec![vec![
                    flat(vec![text("a"), text("b")]),
                    flat(vec![Some(f.marked_a.clone()), Some(f.unmarked.clone())]),
                ]],
                codec,
            )?;
            let outcome = scan(std::slice::from_ref(&path));
            assert_eq!(
                outcome.detections(),
                [("a".to_string(), hex(ID_A))].into_iter().collect(),
                "{name}: {:?}",
                outcome.errors()
            );
            assert_eq!(outcome.sample_keys(), ["a", "b"], "{name}");
        }
        Ok(())
    }

    #[test]
    fn img2dataset_binary_column_with_keys() -> TestResult {
        let f = fixtures();
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("00000.parquet");
        let schema = "message schema {
            optional binary url (STRING);
            optional binary key (STRING);
            optional binary caption (STRING);
            optional binary jpg;
        }";
        write(
            &path,
            schema,
            vec![vec![
                flat(vec![
                    text("http://a/1.jpg"),
                    text("http://a/2.jpg"),
                    text("http://a/3.jpg"),
                ]),
                flat(vec![
                    text("000000010"),
                    text("000000011"),
                    text("000000012"),
                ]),
                flat(vec![text("a cat"), None, text("a dog")]),
                flat(vec![
                    Some(f.marked_c.clone()),
                    Some(f.unmarked.clone()),
                    Some(f.corrupt.clone()),
                ]),
            ]],
        )?;
        let outcome = scan(std::slice::from_ref(&path));
        assert_eq!(
            outcome.detections(),
            [("000000010".to_string(), hex(ID_C))].into_iter().collect()
        );
        assert_eq!(outcome.sample_keys(), ["000000010", "000000011"]);
        assert_eq!(
            outcome.error_keys(),
            ["000000012".to_string()].into_iter().collect()
        );

        // Naming a text column is refused; naming the image column works.
        let named = scan_with(
            std::slice::from_ref(&path),
            ScanConfig::default().with_threads(2).with_column("caption"),
        );
        assert_eq!(named.summary.samples, 0);
        assert!(
            named.errors()["-"].contains("\"caption\""),
            "{:?}",
            named.errors()
        );
        let named = scan_with(
            std::slice::from_ref(&path),
            ScanConfig::default().with_threads(2).with_column("jpg"),
        );
        assert_eq!(named.detections(), outcome.detections());

        // The URL and caption ride along with each sample (a null caption stays null); a
        // binary column has no struct path.
        let carried = scan_with(
            std::slice::from_ref(&path),
            ScanConfig::default().with_threads(2).with_columns(vec![
                "url".into(),
                "caption".into(),
                "key".into(),
            ]),
        );
        type Carried = [Option<String>; 4];
        let rows: Vec<Carried> = carried
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Sample(s) => Some([
                    s.path.clone(),
                    s.with.get("url").cloned().flatten(),
                    s.with.get("caption").cloned().flatten(),
                    s.with.get("key").cloned().flatten(),
                ]),
                _ => None,
            })
            .collect();
        assert_eq!(
            rows,
            [
                [
                    None,
                    Some("http://a/1.jpg".into()),
                    Some("a cat".into()),
                    Some("000000010".into())
                ],
                [
                    None,
                    Some("http://a/2.jpg".into()),
                    None,
                    Some("000000011".into())
                ],
            ]
        );
        // A column the file does not have is an error for the file, not a silent null.
        let missing = scan_with(
            &[path],
            ScanConfig::default()
                .with_threads(2)
                .with_columns(vec!["uri".into()]),
        );
        assert_eq!(missing.summary.samples, 0);
        assert!(
            missing.errors()["-"].contains("\"uri\""),
            "{:?}",
            missing.errors()
        );
        Ok(())
    }

    #[test]
    fn parquet_without_an_image_column_is_an_error() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("meta.parquet");
        let schema = "message schema { optional binary caption (STRING); }";
        write(&path, schema, vec![vec![flat(vec![text("x")])]])?;
        let outcome = scan(&[path]);
        assert_eq!(outcome.summary.errors, 1);
        assert!(outcome.errors()["-"].contains("no image column"));
        Ok(())
    }
}
