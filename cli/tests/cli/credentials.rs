//! `inkseal credentials new`.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::support::*;

#[test]
fn new_credentials_protect_the_key_and_are_never_overwritten_silently() -> TestResult {
    let sb = Sandbox::new();
    let dir = sb.path().join("creds");
    let out = sb
        .cmd()
        .args([
            "credentials",
            "new",
            "--name",
            "A. Painter",
            "--json",
            "--dir",
        ])
        .arg(&dir)
        .output()?;
    assert!(out.status.success(), "{}", stderr_of(&out));
    let record: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(record["type"], "credentials");
    for (field, name) in [
        ("ca", "ca.pem"),
        ("signer", "signer.pem"),
        ("key", "signer.key"),
    ] {
        assert_eq!(record[field], dir.join(name).to_str().expect("utf-8"));
    }
    assert_eq!(file_names(&dir), ["ca.pem", "signer.key", "signer.pem"]);
    let mode = |name: &str| {
        fs::metadata(dir.join(name))
            .expect("file exists")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("signer.key"), 0o600);
    let ca = fs::read_to_string(dir.join("ca.pem"))?;
    assert_eq!(ca.matches("-----BEGIN CERTIFICATE-----").count(), 1);
    let chain = fs::read_to_string(dir.join("signer.pem"))?;
    assert_eq!(chain.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    assert!(chain.ends_with(&ca), "the chain ends with the CA");
    assert!(fs::read_to_string(dir.join("signer.key"))?.contains("PRIVATE KEY-----"));

    let before: Vec<Vec<u8>> = ["ca.pem", "signer.pem", "signer.key"]
        .iter()
        .map(|n| fs::read(dir.join(n)))
        .collect::<Result<_, _>>()?;
    let out = sb
        .cmd()
        .args(["credentials", "new", "--dir"])
        .arg(&dir)
        .output()?;
    assert_clean_failure(&out, "already exists (refusing to overwrite it)");
    let after: Vec<Vec<u8>> = ["ca.pem", "signer.pem", "signer.key"]
        .iter()
        .map(|n| fs::read(dir.join(n)))
        .collect::<Result<_, _>>()?;
    assert_eq!(after, before);

    sb.cmd()
        .args(["credentials", "new", "--force", "--dir"])
        .arg(&dir)
        .assert()
        .success();
    assert_ne!(fs::read(dir.join("signer.key"))?, before[2]);
    assert_eq!(mode("signer.key"), 0o600);
    assert_eq!(file_names(&dir), ["ca.pem", "signer.key", "signer.pem"]);
    Ok(())
}

/// Needs the watermark (for the mark).
#[test]
fn default_credentials_live_in_the_data_directory_and_sign_marks() -> TestResult {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .args(["credentials", "new", "--name", "Studio North"])
        .output()?;
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{}\n", sb.credentials().display()));
    assert!(stderr_of(&out).contains("trusted by nobody else"));
    assert_eq!(
        file_names(&sb.credentials()),
        ["ca.pem", "signer.key", "signer.pem"]
    );

    // `mark` uses them rather than making its own for the artist.
    let input = save(&coffee_crop(0, 0, 160), sb.path(), "in.png");
    let r = sb.mark(&input, &sb.path().join("out.png"), &[]);
    assert_eq!(r["signer"], "CN=Studio North, O=inkseal local credentials");
    Ok(())
}
