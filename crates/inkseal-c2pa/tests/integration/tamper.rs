//! Tamper evidence: changed pixels, a swapped-in manifest or an edited assertion are never
//! reported as Valid.

use inkseal_c2pa::{CredentialReport, Format, ValidationState, WatermarkAgreement, read_bytes};

use crate::common::*;

/// Changes 64 bytes of image data, not of the manifest: inside the first IDAT chunk of a PNG,
/// inside the entropy-coded scan of a JPEG (never creating a 0xFF marker byte).
fn flip_image_data(format: &Format, bytes: &mut [u8]) {
    let manifest_before = c2pa::jumbf_io::load_jumbf_from_memory(format.mime_type(), bytes).ok();
    let start = match format {
        Format::Png => png_chunk_data(bytes, b"IDAT") + 200,
        Format::Jpeg => jpeg_scan_data(bytes) + 400,
        other => panic!("no image data rule for {other}"),
    };
    let mut changed = 0;
    for b in bytes[start..].iter_mut() {
        if *b < 0xF0 {
            *b ^= 0x0F;
            changed += 1;
            if changed == 64 {
                break;
            }
        }
    }
    let manifest_after = c2pa::jumbf_io::load_jumbf_from_memory(format.mime_type(), bytes).ok();
    assert_eq!(
        manifest_before, manifest_after,
        "the manifest bytes must stay as they were"
    );
}

/// Where the data of the first chunk of `kind` starts, found by walking the chunks (the
/// manifest's own bytes may contain any four letters).
fn png_chunk_data(bytes: &[u8], kind: &[u8; 4]) -> usize {
    let mut at = 8;
    while at + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        if &bytes[at + 4..at + 8] == kind {
            return at + 8;
        }
        at += 12 + len;
    }
    panic!("no {} chunk", String::from_utf8_lossy(kind));
}

/// Where the entropy-coded data of the first scan starts, found by walking the marker
/// segments (an APP11 manifest may contain the bytes FF DA).
fn jpeg_scan_data(bytes: &[u8]) -> usize {
    let mut at = 2;
    while at + 4 <= bytes.len() {
        assert_eq!(bytes[at], 0xFF, "marker expected at {at}");
        let marker = bytes[at + 1];
        let len = u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]) as usize;
        if marker == 0xDA {
            return at + 2 + len;
        }
        at += 2 + len;
    }
    panic!("no scan");
}

#[test]
fn changed_pixels_are_invalid_with_a_hash_mismatch() {
    let fx = fixture();
    for (format, name, bytes) in images() {
        let signed = fx.sign(&format, &bytes, &terms(11));
        let mut tampered = signed.asset.clone();
        flip_image_data(&format, &mut tampered);
        assert_ne!(tampered, signed.asset);
        for anchors in [None, Some(fx.creds.ca_cert_pem.as_str())] {
            let r = read_bytes(&format, &tampered, anchors).unwrap().unwrap();
            assert_invalid_with(name, &r, "assertion.dataHash.mismatch");
            // The manifest itself is intact: its terms are still shown.
            assert_eq!(r.work_id(ALG), Some(11));
        }
    }
}

#[test]
fn a_swapped_in_manifest_is_invalid_and_names_another_work() {
    let fx = fixture();
    for (format, name, bytes) in images() {
        let ours = fx.sign(&format, &bytes, &terms(1000));
        // Another work, signed by the same artist, whose manifest is moved onto ours.
        let mut other_image = bytes.clone();
        flip_image_data(&format, &mut other_image);
        let theirs = fx.sign(&format, &other_image, &terms(2000));
        let swapped =
            c2pa::jumbf_io::save_jumbf_to_memory(format.mime_type(), &ours.asset, &theirs.manifest)
                .unwrap();
        let r = read_bytes(&format, &swapped, Some(&fx.creds.ca_cert_pem))
            .unwrap()
            .unwrap();
        assert_invalid_with(name, &r, "assertion.dataHash.mismatch");
        // And the soft binding disagrees with the watermark (work 1000) in the content.
        assert_eq!(
            r.check_watermark(ALG, 1000),
            WatermarkAgreement::Mismatch {
                manifest_work_id: 2000
            }
        );

        // The same swap through supplied manifest bytes (sidecar or registry copy).
        let r =
            inkseal_c2pa::read_with_manifest(&format, &ours.asset, &theirs.manifest, None).unwrap();
        assert_eq!(r.state, ValidationState::Invalid, "{name}");
    }
}

#[test]
fn an_edited_work_id_breaks_the_assertion_hash() {
    let fx = fixture();
    for (format, name, bytes) in images() {
        let signed = fx.sign(&format, &bytes, &terms(0x1111_2222_3333_4444));
        let mut needle = b"\x65value\x48".to_vec();
        needle.extend_from_slice(&0x1111_2222_3333_4444u64.to_be_bytes());
        let at = find(&signed.asset, &needle).unwrap() + 7;
        let mut edited = signed.asset.clone();
        edited[at..at + 8].copy_from_slice(&0x9999_9999_9999_9999u64.to_be_bytes());
        let r = read_bytes(&format, &edited, Some(&fx.creds.ca_cert_pem))
            .unwrap()
            .unwrap();
        assert_invalid_with(name, &r, "assertion.hashedURI.mismatch");

        // The same edit in a stored copy is caught without the asset, too.
        let at = find(&signed.manifest, &needle).unwrap() + 7;
        let mut stored = signed.manifest.clone();
        stored[at..at + 8].copy_from_slice(&0x9999_9999_9999_9999u64.to_be_bytes());
        let r = CredentialReport::from_manifest_store_bytes(&stored, Some(&fx.creds.ca_cert_pem))
            .unwrap();
        assert_eq!(
            r.state,
            ValidationState::Invalid,
            "{name}: {:?}",
            problems(&r)
        );
    }
}

/// The report is Invalid and names `code` among its failures.
fn assert_invalid_with(name: &str, r: &inkseal_c2pa::CredentialReport, code: &str) {
    assert_eq!(
        r.state,
        ValidationState::Invalid,
        "{name}: {:?}",
        problems(r)
    );
    assert!(
        r.failures().any(|s| s.code == code),
        "{name}: no {code} in {:?}",
        problems(r)
    );
}
