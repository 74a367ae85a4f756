//! Formats the SDK cannot embed into get a sidecar `.c2pa` manifest store.

use std::path::Path;

use inkseal_c2pa::{ManifestSource, ValidationState, read_file, sign_file};

use crate::common::*;

fn bmp() -> Vec<u8> {
    let img = image::load_from_memory(&images()[0].2)
        .unwrap()
        .thumbnail(96, 96);
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Bmp)
        .unwrap();
    out
}

#[test]
fn bmp_gets_a_sidecar_and_stays_unchanged() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let bytes = bmp();
    let input = dir.path().join("art.bmp");
    std::fs::write(&input, &bytes).unwrap();
    let output = dir.path().join("out").join("art-signed.bmp");
    std::fs::create_dir_all(output.parent().unwrap()).unwrap();

    let signed = sign_file(&input, &output, &terms(42), &fx.signer).unwrap();
    let sidecar = signed.sidecar.clone().unwrap();
    assert_eq!(sidecar, dir.path().join("out").join("art-signed.c2pa"));
    assert_eq!(
        std::fs::read(&output).unwrap(),
        bytes,
        "asset copied unchanged"
    );
    assert_eq!(std::fs::read(&sidecar).unwrap(), signed.manifest_bytes);
    assert!(!signed.format.embeds());

    let r = read_file(&output, Some(&fx.creds.ca_cert_pem))
        .unwrap()
        .unwrap();
    assert_eq!(r.state, ValidationState::Trusted, "{:?}", problems(&r));
    assert_eq!(r.source, ManifestSource::Sidecar(sidecar.clone()));
    assert_eq!(r.work_id(ALG), Some(42));

    // Reading the .c2pa file alone: a stored manifest, content not checked.
    let stored = read_file(&sidecar, None).unwrap().unwrap();
    assert_eq!(stored.source, ManifestSource::Stored);
    assert!(!stored.content_checked);
    assert_eq!(stored.state, ValidationState::Valid);

    // Changing a pixel of the asset invalidates it.
    let mut changed = bytes.clone();
    let n = changed.len();
    changed[n - 10] ^= 0x01;
    std::fs::write(&output, &changed).unwrap();
    let r = read_file(&output, Some(&fx.creds.ca_cert_pem))
        .unwrap()
        .unwrap();
    assert_eq!(r.state, ValidationState::Invalid);
    assert!(
        r.failures()
            .any(|s| s.code == "assertion.dataHash.mismatch")
    );
}

#[test]
fn signing_a_sidecar_format_in_place_only_writes_the_sidecar() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let bytes = bmp();
    let input = dir.path().join("art.bmp");
    std::fs::write(&input, &bytes).unwrap();
    let signed = sign_file(&input, &input, &terms(8), &fx.signer).unwrap();
    assert_eq!(
        signed.sidecar.as_deref(),
        Some(dir.path().join("art.c2pa").as_path())
    );
    assert_eq!(std::fs::read(&input).unwrap(), bytes);
    let r = read_file(&input, None).unwrap().unwrap();
    assert_eq!(r.state, ValidationState::Valid);
    assert_eq!(r.work_id(ALG), Some(8));
}

#[test]
fn a_sidecar_named_after_the_full_file_name_is_found_too() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let bytes = bmp();
    let asset = dir.path().join("photo.bmp");
    std::fs::write(&asset, &bytes).unwrap();
    let signed = inkseal_c2pa::sign_bytes(
        &inkseal_c2pa::Format::from_path(Path::new("photo.bmp")),
        &bytes,
        &terms(13),
        &fx.signer,
    )
    .unwrap();
    assert!(!signed.embedded);
    assert_eq!(signed.asset, bytes);
    std::fs::write(dir.path().join("photo.bmp.c2pa"), &signed.manifest).unwrap();
    let r = read_file(&asset, None).unwrap().unwrap();
    assert_eq!(r.work_id(ALG), Some(13));
    assert_eq!(r.state, ValidationState::Valid);

    let explicit =
        inkseal_c2pa::read_sidecar(&asset, &dir.path().join("photo.bmp.c2pa"), None).unwrap();
    assert_eq!(explicit.state, ValidationState::Valid);
}
