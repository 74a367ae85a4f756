//! `inkseal works`: list, show, export and import. Needs the watermark (to mark works).

use std::fs;
use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::support::*;

/// Marks `n` small works in the sandbox's default registry; returns their IDs, sorted.
fn mark_works(sb: &Sandbox, n: usize) -> Vec<String> {
    let input = save(&coffee_crop(0, 0, 160), sb.path(), "in.png");
    let mut ids: Vec<String> = (0..n)
        .map(|i| {
            let output = sb.path().join(format!("work{i}.png"));
            let title = format!("Study {i}");
            sb.mark(&input, &output, &["--title", &title])["work_id"]
                .as_str()
                .expect("work_id")
                .to_string()
        })
        .collect();
    ids.sort();
    ids
}

fn import(sb: &Sandbox, file: &std::path::Path, registry: &str) -> (Value, Option<i32>, String) {
    let out = sb
        .cmd()
        .args(["works", "import", "--registry", registry])
        .arg(file)
        .output()
        .expect("inkseal runs");
    let report = serde_json::from_str(&stdout_of(&out)).unwrap_or(Value::Null);
    (report, out.status.code(), stderr_of(&out))
}

#[test]
fn export_then_import_reproduces_the_registry() -> TestResult {
    let sb = Sandbox::new();
    let ids = mark_works(&sb, 3);
    let rows = sb.works(&[]);
    let listed: Vec<&str> = rows
        .iter()
        .map(|r| r["work_id"].as_str().expect("id"))
        .collect();
    assert_eq!(listed, ids);

    let export = sb.path().join("export.json");
    sb.cmd()
        .args(["works", "export", "-o"])
        .arg(&export)
        .assert()
        .success()
        .stdout("");
    assert_eq!(fs::metadata(&export)?.permissions().mode() & 0o777, 0o600);
    // The file and standard output carry the same document.
    let stdout = sb.cmd().args(["works", "export"]).output()?;
    assert!(stdout.status.success());
    assert_eq!(stdout.stdout, fs::read(&export)?);
    let doc: Value = serde_json::from_slice(&fs::read(&export)?)?;
    assert_eq!(doc["format"], "inkseal-registry-v1");
    assert_eq!(doc["works"].as_array().map(Vec::len), Some(3));

    let fresh = sb.path().join("fresh.sqlite");
    let fresh = fresh.to_str().expect("utf-8");
    let (report, code, err) = import(&sb, &export, fresh);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        report,
        serde_json::json!({"type": "import", "added": 3, "skipped_identical": 0, "conflicts": []})
    );
    // Every field of every row, created time and manifest size included.
    assert_eq!(sb.works(&["--registry", fresh]), rows);

    let (report, code, err) = import(&sb, &export, fresh);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(report["added"], 0);
    assert_eq!(report["skipped_identical"], 3);
    assert_eq!(report["conflicts"], serde_json::json!([]));

    // A work whose content differs is reported, exit 1, and never overwrites the row.
    let mut changed = doc.clone();
    changed["works"][0]["title"] = "Retitled".into();
    let changed_path = sb.path().join("changed.json");
    fs::write(&changed_path, serde_json::to_vec(&changed)?)?;
    let conflict = changed["works"][0]["id"].as_str().expect("id").to_string();
    let (report, code, err) = import(&sb, &changed_path, fresh);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(report["added"], 0);
    assert_eq!(report["skipped_identical"], 2);
    assert_eq!(report["conflicts"], serde_json::json!([conflict]));
    assert!(err.contains(&conflict), "{err}");
    assert_eq!(sb.works(&["--registry", fresh]), rows);

    // A document that is not an export is refused as a whole.
    let bad = sb.path().join("bad.json");
    fs::write(&bad, r#"{"format":"something-else","works":[]}"#)?;
    let (_, code, err) = import(&sb, &bad, fresh);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cannot import"), "{err}");
    assert_eq!(sb.works(&["--registry", fresh]), rows);
    Ok(())
}

#[test]
fn show_prints_the_work_and_its_manifest() -> TestResult {
    let sb = Sandbox::new();
    let ids = mark_works(&sb, 2);
    let row = sb
        .works(&[])
        .into_iter()
        .find(|r| r["work_id"] == ids[0].as_str())
        .expect("listed");
    let out = sb.cmd().args(["works", "show", &ids[0]]).output()?;
    assert!(out.status.success(), "{}", stderr_of(&out));
    let shown: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(shown["type"], "work");
    assert_eq!(shown["work_id"], ids[0].as_str());
    assert_eq!(shown["title"], row["title"]);
    assert_eq!(shown["sha256"], row["sha256"]);
    assert_eq!(shown["manifest_error"], Value::Null);
    let manifest = &shown["manifest"];
    assert_eq!(manifest["title"], row["title"]);
    assert_eq!(soft_binding_id(manifest), ids[0]);
    // Checked on its own, with no trust anchors.
    assert_eq!(manifest["state"], "Valid", "{manifest:#}");
    assert_eq!(manifest["content_checked"], false);

    let out = sb
        .cmd()
        .args(["works", "show", "0000000000000001"])
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(stderr_of(&out).contains("no work 0000000000000001"));
    let out = sb.cmd().args(["works", "show", "xyz"]).output()?;
    assert_clean_failure(&out, "expected exactly 16 hexadecimal digits");
    Ok(())
}

#[test]
fn reading_commands_never_create_a_registry() -> TestResult {
    let sb = Sandbox::new();
    let out = sb.cmd().args(["works", "list"]).output()?;
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(stderr_of(&out).contains("nothing marked yet"));
    let out = sb.cmd().args(["works", "export"]).output()?;
    assert_clean_failure(&out, "no registry at");
    let out = sb
        .cmd()
        .args(["works", "show", "0123456789abcdef"])
        .output()?;
    assert_clean_failure(&out, "no registry at");
    assert!(!sb.registry().exists());
    Ok(())
}

#[test]
fn export_naming_the_registry_is_refused_untouched() -> TestResult {
    let sb = Sandbox::new();
    mark_works(&sb, 1);
    let registry = sb.registry();
    let hard = sb.path().join("hard.json");
    fs::hard_link(&registry, &hard)?;
    let soft = sb.path().join("soft.json");
    std::os::unix::fs::symlink(&registry, &soft)?;
    let before = sha256_hex(&registry);
    for output in [&registry, &hard, &soft] {
        let out = sb
            .cmd()
            .args(["works", "export", "-o"])
            .arg(output)
            .output()?;
        assert_clean_failure(&out, "refusing to overwrite the registry");
        assert_eq!(sha256_hex(&registry), before, "{}", output.display());
    }
    // Named with --registry, the output relative to the working directory.
    let out = sb
        .cmd()
        .current_dir(registry.parent().ok_or("data folder")?)
        .args(["works", "export", "--registry"])
        .arg(&registry)
        .args(["-o", "./registry.sqlite"])
        .output()?;
    assert_clean_failure(&out, "refusing to overwrite the registry");
    assert_eq!(sha256_hex(&registry), before);
    assert_eq!(sb.works(&[]).len(), 1);
    Ok(())
}

/// An export whose row for work A carries work B's manifest (a shared export can plant one)
/// is refused as a whole, naming the row; nothing is imported.
#[test]
fn import_refuses_a_row_whose_manifest_names_another_work() -> TestResult {
    let sb = Sandbox::new();
    let ids = mark_works(&sb, 3);
    let export = sb.path().join("export.json");
    sb.cmd()
        .args(["works", "export", "-o"])
        .arg(&export)
        .assert()
        .success();
    let doc: Value = serde_json::from_slice(&fs::read(&export)?)?;
    let works = doc["works"].as_array().expect("works");
    assert_eq!(works.len(), 3);

    // The untouched export imports: every manifest names its own row.
    let fresh = sb.path().join("fresh.sqlite");
    let fresh = fresh.to_str().expect("utf-8");
    let (report, code, err) = import(&sb, &export, fresh);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(report["added"], 3);

    // Row 1 gets row 0's manifest.
    let mut planted = doc.clone();
    planted["works"][1]["manifest"] = works[0]["manifest"].clone();
    let (victim, owner) = (
        works[1]["id"].as_str().expect("id").to_string(),
        works[0]["id"].as_str().expect("id").to_string(),
    );
    assert!(ids.contains(&victim) && ids.contains(&owner));
    let planted_path = sb.path().join("planted.json");
    fs::write(&planted_path, serde_json::to_vec(&planted)?)?;
    let target = sb.path().join("target.sqlite");
    let target = target.to_str().expect("utf-8");
    let (report, code, err) = import(&sb, &planted_path, target);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(report, Value::Null, "nothing is reported as imported");
    assert!(err.contains("cannot import"), "{err}");
    assert!(err.contains(&format!("works[1] ({victim})")), "{err}");
    assert!(
        err.contains(&format!("soft binding names work {owner}, not {victim}")),
        "{err}"
    );
    // All or nothing: not even row 0, which is fine on its own, was added.
    assert_eq!(registry_rows(std::path::Path::new(target)), []);
    Ok(())
}
