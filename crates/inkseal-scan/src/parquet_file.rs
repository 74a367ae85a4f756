//! Parquet files: image columns found from the schema, read row group by row group.

use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use parquet::basic::{ConvertedType, LogicalType, Repetition, Type as PhysicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::reader::RowIter;
use parquet::record::{Field, Row};
use parquet::schema::types::{Type, TypePtr};

use crate::input::open_input;
use crate::sample::SampleError;
use crate::{Error, Sample, SampleResult, ScanConfig};

/// Key columns, in order of preference.
const KEY_COLUMNS: &[&str] = &["__key__", "key"];
/// Names of binary columns taken as images when no struct image column exists.
const IMAGE_NAMES: &[&str] = &["image", "img", "jpg", "jpeg", "png", "webp", "bytes"];

/// How an image column stores its bytes.
#[derive(Clone, Debug)]
enum Layout {
    /// Hugging Face's Image feature: `struct<bytes: binary, path: string>`.
    Struct,
    /// A plain binary column (img2dataset).
    Binary,
}

#[derive(Clone, Debug)]
struct ImageColumn {
    field: TypePtr,
    layout: Layout,
}

fn is_text(t: &Type) -> bool {
    let info = t.get_basic_info();
    matches!(
        info.converted_type(),
        ConvertedType::UTF8 | ConvertedType::JSON
    ) || matches!(
        info.logical_type_ref(),
        Some(LogicalType::String | LogicalType::Json)
    )
}

fn repeated(t: &Type) -> bool {
    let info = t.get_basic_info();
    info.has_repetition() && info.repetition() == Repetition::REPEATED
}

fn is_binary(t: &Type) -> bool {
    t.is_primitive()
        && !repeated(t)
        && matches!(
            t.get_physical_type(),
            PhysicalType::BYTE_ARRAY | PhysicalType::FIXED_LEN_BYTE_ARRAY
        )
}

/// `struct<bytes: binary, ...>`, not repeated.
fn is_image_struct(t: &Type) -> bool {
    t.is_group()
        && !repeated(t)
        && t.get_fields()
            .iter()
            .any(|f| f.name() == "bytes" && is_binary(f))
}

fn classify(t: &TypePtr) -> Option<ImageColumn> {
    if is_image_struct(t) {
        Some(ImageColumn {
            field: Arc::clone(t),
            layout: Layout::Struct,
        })
    } else if is_binary(t) && !is_text(t) {
        Some(ImageColumn {
            field: Arc::clone(t),
            layout: Layout::Binary,
        })
    } else {
        None
    }
}

/// The image columns of a schema: the named one, else every `struct<bytes, path>` column,
/// else the binary columns with an image-like name.
fn image_columns(fields: &[TypePtr], named: Option<&str>) -> Result<Vec<ImageColumn>, Error> {
    if let Some(name) = named {
        return fields
            .iter()
            .find(|f| f.name() == name)
            .and_then(classify)
            .map(|c| vec![c])
            .ok_or_else(|| Error::BadColumn(name.to_string()));
    }
    let structs: Vec<_> = fields
        .iter()
        .filter(|f| is_image_struct(f))
        .filter_map(classify)
        .collect();
    if !structs.is_empty() {
        return Ok(structs);
    }
    let binary: Vec<_> = fields
        .iter()
        .filter(|f| {
            let name = f.name().to_ascii_lowercase();
            IMAGE_NAMES.iter().any(|n| name == *n || name.contains(n)) && is_binary(f)
        })
        .filter_map(classify)
        .filter(|c| matches!(c.layout, Layout::Binary))
        .collect();
    if binary.is_empty() {
        Err(Error::NoImageColumn)
    } else {
        Ok(binary)
    }
}

fn key_column(fields: &[TypePtr]) -> Option<TypePtr> {
    KEY_COLUMNS.iter().find_map(|k| {
        fields
            .iter()
            .find(|f| f.name() == *k && f.is_primitive() && !repeated(f))
            .cloned()
    })
}

fn key_text(field: &Field) -> Option<String> {
    match field {
        Field::Str(s) => Some(s.clone()),
        Field::Bytes(b) => Some(String::from_utf8_lossy(b.data()).into_owned()),
        Field::Int(i) => Some(i.to_string()),
        Field::Long(i) => Some(i.to_string()),
        Field::UInt(i) => Some(i.to_string()),
        Field::ULong(i) => Some(i.to_string()),
        _ => None,
    }
}

/// The image bytes in one cell, or why there are none.
fn cell_bytes(field: &Field, layout: &Layout) -> Result<Vec<u8>, Error> {
    let bytes = match (layout, field) {
        (_, Field::Null) => return Err(Error::NullImage),
        (Layout::Binary, Field::Bytes(b)) => b,
        (Layout::Struct, Field::Group(row)) => {
            match row
                .get_column_iter()
                .find(|(name, _)| name.as_str() == "bytes")
            {
                Some((_, Field::Bytes(b))) => b,
                Some((_, Field::Null)) | None => return Err(Error::NullImage),
                Some((_, other)) => {
                    return Err(Error::Parquet(format!("unexpected image cell {other}")));
                }
            }
        }
        (_, other) => return Err(Error::Parquet(format!("unexpected image cell {other}"))),
    };
    Ok(bytes.data().to_vec())
}

/// A carried cell as text: strings as they are, numbers and booleans printed, nested values
/// as Parquet prints them; `None` for null.
fn cell_text(field: &Field) -> Option<String> {
    match field {
        Field::Null => None,
        Field::Str(s) => Some(s.clone()),
        Field::Bytes(b) => Some(String::from_utf8_lossy(b.data()).into_owned()),
        other => key_text(other).or_else(|| Some(other.to_string())),
    }
}

/// The `path` of a Hugging Face image struct cell.
fn struct_path(field: &Field) -> Option<String> {
    let Field::Group(row) = field else {
        return None;
    };
    match find(row, "path")? {
        Field::Str(s) => Some(s.clone()),
        Field::Bytes(b) => Some(String::from_utf8_lossy(b.data()).into_owned()),
        _ => None,
    }
}

fn find<'a>(row: &'a Row, name: &str) -> Option<&'a Field> {
    row.get_column_iter()
        .find(|(n, _)| n.as_str() == name)
        .map(|(_, f)| f)
}

/// Streams the images of the Parquet file at `path` to `visit`.
pub(crate) fn read(
    path: &Path,
    config: &ScanConfig,
    visit: &mut dyn FnMut(SampleResult) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let (source, mut file) = match open_input(path, visit) {
        Ok(opened) => opened,
        Err(flow) => return flow,
    };
    let fail = |e: Error| Err(SampleError::input(&source, e));
    let mut magic = [0u8; 4];
    match file.read_exact(&mut magic) {
        Ok(()) if &magic == b"PAR1" => {}
        Ok(()) => {
            return visit(fail(Error::BadMagic {
                expected: "Parquet",
            }));
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return visit(fail(Error::BadMagic {
                expected: "Parquet",
            }));
        }
        Err(e) => return visit(fail(e.into())),
    }
    let reader = match SerializedFileReader::new(file) {
        Ok(r) => r,
        Err(e) => return visit(fail(Error::Parquet(e.to_string()))),
    };
    let schema = reader.metadata().file_metadata().schema();
    let fields = schema.get_fields();
    let columns = match image_columns(fields, config.column.as_deref()) {
        Ok(c) => c,
        Err(e) => return visit(fail(e)),
    };
    let key = key_column(fields);
    let mut projected: Vec<TypePtr> = columns.iter().map(|c| Arc::clone(&c.field)).collect();
    if let Some(k) = &key {
        projected.push(Arc::clone(k));
    }
    for name in &config.with {
        match fields.iter().find(|f| f.name() == name) {
            Some(f) if !projected.iter().any(|p| Arc::ptr_eq(p, f)) => {
                projected.push(Arc::clone(f))
            }
            Some(_) => {}
            None => return visit(fail(Error::MissingColumn(name.clone()))),
        }
    }
    // Keep the file's column order, which the projection check requires.
    projected.sort_by_key(|p| fields.iter().position(|f| Arc::ptr_eq(f, p)));
    let projection = match Type::group_type_builder(schema.name())
        .with_fields(projected)
        .build()
    {
        Ok(p) => p,
        Err(e) => return visit(fail(Error::Parquet(e.to_string()))),
    };

    let mut first_row: u64 = 0;
    for group in 0..reader.num_row_groups() {
        let rows_in_group =
            u64::try_from(reader.metadata().row_group(group).num_rows()).unwrap_or(0);
        let group_error = |e: parquet::errors::ParquetError| {
            Err(SampleError {
                source: source.clone(),
                member: Some(format!("row group {group}")),
                key: None,
                error: Error::Parquet(e.to_string()),
            })
        };
        let row_group = match reader.get_row_group(group) {
            Ok(g) => g,
            Err(e) => {
                visit(group_error(e))?;
                first_row += rows_in_group;
                continue;
            }
        };
        let rows = match RowIter::from_row_group(Some(projection.clone()), row_group.as_ref()) {
            Ok(rows) => rows,
            Err(e) => {
                visit(group_error(e))?;
                first_row += rows_in_group;
                continue;
            }
        };
        for (i, row) in rows.enumerate() {
            let index = first_row + i as u64;
            let row = match row {
                Ok(r) => r,
                Err(e) => {
                    // The rest of this row group cannot be trusted; go on with the next one.
                    visit(group_error(e))?;
                    break;
                }
            };
            let key = key
                .as_ref()
                .and_then(|k| find(&row, k.name()))
                .and_then(key_text)
                .unwrap_or_else(|| index.to_string());
            let with: std::collections::BTreeMap<String, Option<String>> = config
                .with
                .iter()
                .map(|name| (name.clone(), find(&row, name).and_then(cell_text)))
                .collect();
            for column in &columns {
                let name = column.field.name();
                let path = match column.layout {
                    Layout::Struct => find(&row, name).and_then(struct_path),
                    Layout::Binary => None,
                };
                let member = format!("{name}[{index}]");
                let bytes = find(&row, name)
                    .ok_or(Error::NullImage)
                    .and_then(|f| cell_bytes(f, &column.layout))
                    .and_then(|b| {
                        let size = b.len() as u64;
                        if size > config.max_member_bytes {
                            Err(Error::MemberTooLarge {
                                size,
                                max: config.max_member_bytes,
                            })
                        } else {
                            Ok(b)
                        }
                    });
                visit(match bytes {
                    Ok(bytes) => Ok(Sample {
                        source: source.clone(),
                        member: Some(member),
                        key: key.clone(),
                        bytes,
                        path,
                        with: with.clone(),
                    }),
                    Err(error) => Err(SampleError {
                        source: source.clone(),
                        member: Some(member),
                        key: Some(key.clone()),
                        error,
                    }),
                })?;
            }
        }
        first_row += rows_in_group;
    }
    ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    use parquet::schema::parser::parse_message_type;

    use super::*;

    fn columns(schema: &str, named: Option<&str>) -> Result<Vec<String>, Error> {
        let schema = parse_message_type(schema).map_err(|e| Error::Parquet(e.to_string()))?;
        image_columns(schema.get_fields(), named)
            .map(|c| c.iter().map(|c| c.field.name().to_string()).collect())
    }

    #[test]
    fn image_columns_come_from_the_schema() {
        let hf = "message m {
            optional group image { optional binary bytes; optional binary path (STRING); }
            optional binary jpg;
        }";
        assert_eq!(columns(hf, None).ok(), Some(vec!["image".to_string()]));
        assert_eq!(columns(hf, Some("jpg")).ok(), Some(vec!["jpg".to_string()]));

        // Text columns named like images (URLs, captions) are never taken for image bytes.
        let img2dataset = "message m {
            optional binary image_url (STRING);
            optional binary key (STRING);
            optional binary jpg;
            optional binary png_bytes;
        }";
        assert_eq!(
            columns(img2dataset, None).ok(),
            Some(vec!["jpg".to_string(), "png_bytes".to_string()])
        );
        assert!(matches!(
            columns(img2dataset, Some("image_url")),
            Err(Error::BadColumn(_))
        ));

        let none = "message m { optional binary caption (STRING); optional int64 width; }";
        assert!(matches!(columns(none, None), Err(Error::NoImageColumn)));
        // A repeated binary column (a list of images) is not one image per row.
        let list = "message m { repeated binary jpg; }";
        assert!(matches!(columns(list, None), Err(Error::NoImageColumn)));
    }
}
