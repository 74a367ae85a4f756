//! Sign, embed and read back JPEG and PNG: state, soft binding, training terms, metadata.

use inkseal_c2pa::{
    ManifestSource, TRAINING_ENTRIES, TrainingUse, ValidationState, WatermarkAgreement, read_bytes,
    read_file, sign_file,
};

use crate::common::*;

#[test]
fn valid_without_anchors_trusted_with_our_ca() {
    let fx = fixture();
    for (format, name, bytes) in images() {
        let signed = fx.sign(&format, &bytes, &terms(0x0123_4567_89ab_cdef));
        assert!(signed.embedded, "{name}");
        assert_eq!(
            inkseal_c2pa::Format::detect(&signed.asset),
            Some(format.clone())
        );

        let r = read_bytes(&format, &signed.asset, None).unwrap().unwrap();
        assert_eq!(
            r.state,
            ValidationState::Valid,
            "{name}: {:?}",
            problems(&r)
        );
        assert!(r.has_status("signingCredential.untrusted"));
        assert!(r.has_status("claimSignature.validated"));
        assert!(r.has_status("assertion.dataHash.match"));
        assert_eq!(r.source, ManifestSource::Embedded);
        assert!(r.content_checked);

        let t = read_bytes(&format, &signed.asset, Some(&fx.creds.ca_cert_pem))
            .unwrap()
            .unwrap();
        assert_eq!(
            t.state,
            ValidationState::Trusted,
            "{name}: {:?}",
            problems(&t)
        );
        assert!(t.has_status("signingCredential.trusted"));
        assert_eq!(t.failures().count(), 0);

        // Another CA as anchor: the signer is not trusted, the manifest still valid.
        let other = inkseal_c2pa::Credentials::generate("Someone Else").unwrap();
        let o = read_bytes(&format, &signed.asset, Some(&other.ca_cert_pem))
            .unwrap()
            .unwrap();
        assert_eq!(o.state, ValidationState::Valid, "{name}");
    }
}

#[test]
fn assertions_carry_the_terms() {
    let fx = fixture();
    for (format, name, bytes) in images() {
        let id = 0xfeed_beef_0000_0042;
        let signed = fx.sign(&format, &bytes, &terms(id));
        let r = read_bytes(&format, &signed.asset, None).unwrap().unwrap();

        assert_eq!(r.work_id(ALG), Some(id), "{name}");
        assert_eq!(r.soft_bindings.len(), 1);
        assert_eq!(
            r.soft_bindings[0].value.as_deref(),
            Some(&id.to_be_bytes()[..])
        );
        assert_eq!(r.check_watermark(ALG, id), WatermarkAgreement::Agree);
        assert_eq!(
            r.check_watermark(ALG, id ^ 1),
            WatermarkAgreement::Mismatch {
                manifest_work_id: id
            }
        );
        assert_eq!(
            r.check_watermark("com.example.other", id),
            WatermarkAgreement::NoSoftBinding
        );

        assert_eq!(r.actions, ["c2pa.created", "c2pa.watermarked.bound"]);
        assert_eq!(r.creator(), Some("Ada Artist"));
        assert_eq!(r.title.as_deref(), Some("Harbour at dusk"));
        assert_eq!(
            r.license.as_deref(),
            Some("https://creativecommons.org/licenses/by-nc-nd/4.0/")
        );
        assert_eq!(r.training.len(), 4);
        for entry in TRAINING_ENTRIES {
            assert_eq!(
                r.training_use(entry),
                Some(&TrainingUse::NotAllowed),
                "{entry}"
            );
        }
        let signer = r.signer.as_ref().unwrap();
        assert!(
            signer.subject.contains("CN=Ada Artist"),
            "{}",
            signer.subject
        );
        assert!(
            signer.issuer.contains("inkseal local CA"),
            "{}",
            signer.issuer
        );
        assert!(
            r.active_manifest
                .as_deref()
                .unwrap()
                .starts_with("urn:c2pa:")
        );
    }
}

#[test]
fn soft_binding_value_is_a_cbor_byte_string() {
    // In the stored CBOR, "value" (text, 5 bytes: 0x65) is followed by a byte string of
    // 8 bytes (major type 2: 0x48), never a text string (0x6x/0x7x).
    let fx = fixture();
    let id: u64 = 0x0102_0304_0506_0708;
    let signed = fx.sign(&inkseal_c2pa::Format::Png, &images()[0].2, &terms(id));
    let mut expected = b"\x65value\x48".to_vec();
    expected.extend_from_slice(&id.to_be_bytes());
    assert!(find(&signed.manifest, &expected).is_some());
    assert!(
        find(&signed.manifest, b"\x63pad\x40").is_some(),
        "pad is an empty byte string"
    );
}

#[test]
fn training_allowed_when_the_artist_allows_it() {
    let fx = fixture();
    for (format, name, bytes) in images() {
        let t = terms(9).with_training_allowed(true);
        let signed = fx.sign(&format, &bytes, &t);
        let r = read_bytes(&format, &signed.asset, None).unwrap().unwrap();
        for entry in TRAINING_ENTRIES {
            assert_eq!(
                r.training_use(entry),
                Some(&TrainingUse::Allowed),
                "{name} {entry}"
            );
        }
    }
}

#[test]
fn no_licence_means_no_rights_field() {
    let fx = fixture();
    let (format, _, bytes) = images().into_iter().next().unwrap();
    let t = inkseal_c2pa::WorkTerms::new(1, "Untitled", "Bo", ALG);
    let r = read_bytes(&format, &fx.sign(&format, &bytes, &t).asset, None)
        .unwrap()
        .unwrap();
    assert_eq!(r.license, None);
    assert_eq!(r.creator(), Some("Bo"));
    assert_eq!(r.state, ValidationState::Valid);
}

#[test]
fn sign_file_writes_atomically_and_keeps_the_input() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    for (_, name, bytes) in images() {
        let input = dir.path().join(name);
        std::fs::write(&input, &bytes).unwrap();
        let output = dir.path().join(format!("signed-{name}"));
        std::fs::write(&output, b"old contents are replaced").unwrap();
        let signed = sign_file(&input, &output, &terms(5), &fx.signer).unwrap();
        assert_eq!(signed.sidecar, None);
        assert_eq!(std::fs::read(&input).unwrap(), bytes, "input untouched");
        let r = read_file(&output, Some(&fx.creds.ca_cert_pem))
            .unwrap()
            .unwrap();
        assert_eq!(
            r.state,
            ValidationState::Trusted,
            "{name}: {:?}",
            problems(&r)
        );
        assert_eq!(r.work_id(ALG), Some(5));
        // The returned manifest is the embedded one: it validates against the output.
        let again = inkseal_c2pa::read_with_manifest(
            &signed.format,
            &std::fs::read(&output).unwrap(),
            &signed.manifest_bytes,
            None,
        )
        .unwrap();
        assert_eq!(again.state, ValidationState::Valid);
        assert_eq!(again.source, ManifestSource::External);

        // Signing a file onto itself is refused.
        let err = sign_file(&input, &input, &terms(5), &fx.signer).unwrap_err();
        assert!(
            matches!(err, inkseal_c2pa::Error::OutputIsInput(_)),
            "{err}"
        );
        assert_eq!(std::fs::read(&input).unwrap(), bytes);
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn stored_manifest_reads_without_the_asset() {
    let fx = fixture();
    let (format, _, bytes) = images().into_iter().nth(1).unwrap();
    let signed = fx.sign(&format, &bytes, &terms(77));
    let stored = inkseal_c2pa::CredentialReport::from_manifest_store_bytes(
        &signed.manifest,
        Some(&fx.creds.ca_cert_pem),
    )
    .unwrap();
    assert_eq!(stored.source, ManifestSource::Stored);
    assert!(!stored.content_checked);
    assert_eq!(
        stored.state,
        ValidationState::Trusted,
        "{:?}",
        problems(&stored)
    );
    assert_eq!(stored.work_id(ALG), Some(77));
    assert_eq!(stored.creator(), Some("Ada Artist"));
    let untrusted =
        inkseal_c2pa::CredentialReport::from_manifest_store_bytes(&signed.manifest, None).unwrap();
    assert_eq!(untrusted.state, ValidationState::Valid);
}
