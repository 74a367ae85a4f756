//! Bad input gives a clear error (or "no manifest"), never a panic or a false Valid.

use inkseal_c2pa::{CredentialReport, Error, Format, Signer, read_bytes, read_file};

use crate::common::*;

#[test]
fn unsigned_files_have_no_manifest() {
    for (format, name, bytes) in images() {
        assert!(
            read_bytes(&format, &bytes, None).unwrap().is_none(),
            "{name}"
        );
        assert!(
            read_file(&testdata(name), None).unwrap().is_none(),
            "{name}"
        );
    }
}

#[test]
fn garbage_in_the_manifest_is_a_corrupt_manifest_error() {
    let fx = fixture();
    for (format, name, bytes) in images() {
        let signed = fx.sign(&format, &bytes, &terms(3));
        let mut broken = signed.asset.clone();
        let at = find(&broken, b"jumb").unwrap() + 16;
        for b in &mut broken[at..at + 256] {
            *b = b'A';
        }
        let err = read_bytes(&format, &broken, None).unwrap_err();
        assert!(matches!(err, Error::CorruptManifest(_)), "{name}: {err}");
        assert!(err.to_string().contains("corrupt"), "{err}");
    }
    let err =
        CredentialReport::from_manifest_store_bytes(b"not a manifest at all", None).unwrap_err();
    assert!(matches!(err, Error::CorruptManifest(_)), "{err}");
    let (format, _, bytes) = images().into_iter().next().unwrap();
    let err = inkseal_c2pa::read_with_manifest(&format, &bytes, &[0u8; 64], None).unwrap_err();
    assert!(matches!(err, Error::CorruptManifest(_)), "{err}");
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_a_wrong_key_error() {
    let a = inkseal_c2pa::Credentials::generate("A").unwrap();
    let b = inkseal_c2pa::Credentials::generate("B").unwrap();
    let err = Signer::from_pem(&a.signer_chain_pem, &b.signer_key_pem).unwrap_err();
    assert!(matches!(err, Error::KeyMismatch { .. }), "{err}");
    assert!(err.to_string().contains("wrong key"), "{err}");
    // The CA certificate with the signer's key: also a mismatch.
    let err = Signer::from_pem(&a.ca_cert_pem, &a.signer_key_pem).unwrap_err();
    assert!(matches!(err, Error::KeyMismatch { .. }), "{err}");
}

#[test]
fn certificates_and_keys_that_are_not_pem_are_rejected_clearly() {
    let creds = inkseal_c2pa::Credentials::generate("A").unwrap();
    let err = Signer::from_pem("just some text", &creds.signer_key_pem).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotPem {
                what: "certificate chain",
                ..
            }
        ),
        "{err}"
    );

    let err = Signer::from_pem(&creds.signer_chain_pem, "not a key").unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotPem {
                what: "private key",
                ..
            }
        ),
        "{err}"
    );

    let bogus = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let err = Signer::from_pem(bogus, &creds.signer_key_pem).unwrap_err();
    assert!(
        matches!(err, Error::NotPem { .. } | Error::InvalidCertificate(_)),
        "{err}"
    );

    let rsa = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
    let err = Signer::from_pem(&creds.signer_chain_pem, rsa).unwrap_err();
    assert!(matches!(err, Error::InvalidKey(_)), "{err}");

    // DER (binary) certificate files.
    let dir = tempfile::tempdir().unwrap();
    let der = dir.path().join("cert.der");
    std::fs::write(&der, [0x30, 0x82, 0x01, 0x0a, 0xff, 0xfe]).unwrap();
    let key = dir.path().join("signer.key");
    std::fs::write(&key, &creds.signer_key_pem).unwrap();
    let err = Signer::from_files(&der, &key).unwrap_err();
    assert!(matches!(err, Error::NotPem { .. }), "{err}");
    let err = Signer::from_files(&dir.path().join("missing.pem"), &key).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");

    // Trust anchors that are not PEM.
    let (format, _, bytes) = images().into_iter().next().unwrap();
    let err = read_bytes(&format, &bytes, Some("no certificates here")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotPem {
                what: "trust anchors",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_sec1_key_is_accepted() {
    use p256::pkcs8::DecodePrivateKey;
    let creds = inkseal_c2pa::Credentials::generate("A").unwrap();
    let key = p256::SecretKey::from_pkcs8_pem(&creds.signer_key_pem).unwrap();
    let sec1 = key.to_sec1_pem(p256::pkcs8::LineEnding::LF).unwrap();
    let signer = Signer::from_pem(&creds.signer_chain_pem, &sec1).unwrap();
    assert!(signer.subject().contains("CN=A"));
}

#[test]
fn unusable_terms_and_assets_fail_at_sign_time() {
    let fx = fixture();
    let (format, _, bytes) = images().into_iter().next().unwrap();
    let mut t = terms(1);
    t.alg = " ".into();
    let err = inkseal_c2pa::sign_bytes(&format, &bytes, &t, &fx.signer).unwrap_err();
    assert!(matches!(err, Error::InvalidTerms(_)), "{err}");

    let err =
        inkseal_c2pa::sign_bytes(&Format::Png, b"not a png", &terms(1), &fx.signer).unwrap_err();
    assert!(matches!(err, Error::Signing(_)), "{err}");
}
