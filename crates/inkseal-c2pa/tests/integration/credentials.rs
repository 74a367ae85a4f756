//! `inkseal credentials new`: files on disk, permissions, no silent overwrite.

use inkseal_c2pa::{Credentials, Error, Signer, ValidationState};

use crate::common::*;

#[test]
fn write_to_dir_writes_three_files_with_a_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("creds");
    let creds = Credentials::generate("Ada Artist").unwrap();
    let paths = creds.write_to_dir(&target, false).unwrap();
    assert_eq!(paths.ca_cert, target.join("ca.pem"));
    assert_eq!(paths.signer_chain, target.join("signer.pem"));
    assert_eq!(paths.signer_key, target.join("signer.key"));
    assert_eq!(
        std::fs::read_to_string(&paths.ca_cert).unwrap(),
        creds.ca_cert_pem
    );
    let chain = std::fs::read_to_string(&paths.signer_chain).unwrap();
    assert_eq!(chain.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    assert!(
        chain.ends_with(&creds.ca_cert_pem),
        "chain is signer, then CA"
    );
    assert!(
        std::fs::read_to_string(&paths.signer_key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&paths.signer_key), 0o600);
        assert_eq!(mode(&paths.ca_cert), 0o644);
        assert_eq!(mode(&paths.signer_chain), 0o644);
    }

    // The files work as a signer, and the CA file as the trust anchor.
    let signer = Signer::from_files(&paths.signer_chain, &paths.signer_key).unwrap();
    assert!(signer.subject().contains("CN=Ada Artist"));
    assert!(signer.issuer().contains("inkseal local CA"));
    let (format, _, bytes) = images().into_iter().next().unwrap();
    let signed = inkseal_c2pa::sign_bytes(&format, &bytes, &terms(1), &signer).unwrap();
    let anchors = std::fs::read_to_string(&paths.ca_cert).unwrap();
    let r = inkseal_c2pa::read_bytes(&format, &signed.asset, Some(&anchors))
        .unwrap()
        .unwrap();
    assert_eq!(r.state, ValidationState::Trusted);
}

#[test]
fn existing_credentials_are_not_overwritten_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let first = Credentials::generate("First").unwrap();
    first.write_to_dir(dir.path(), false).unwrap();
    let second = Credentials::generate("Second").unwrap();

    let err = second.write_to_dir(dir.path(), false).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(_)), "{err}");
    let key = std::fs::read_to_string(dir.path().join("signer.key")).unwrap();
    assert_eq!(key, first.signer_key_pem, "the old key survives");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ca.pem")).unwrap(),
        first.ca_cert_pem
    );

    second.write_to_dir(dir.path(), true).unwrap();
    let key = std::fs::read_to_string(dir.path().join("signer.key")).unwrap();
    assert_eq!(key, second.signer_key_pem);
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 3, "no temporary files left");
}

#[test]
fn each_generation_makes_new_keys() {
    let a = Credentials::generate("Same Name").unwrap();
    let b = Credentials::generate("Same Name").unwrap();
    assert_ne!(a.signer_key_pem, b.signer_key_pem);
    assert_ne!(a.ca_cert_pem, b.ca_cert_pem);
    assert!(
        !format!("{a:?}").contains("PRIVATE KEY"),
        "Debug must not print the key"
    );
}
