//! Local signing credentials: a small CA and a signer certificate that meet the C2PA
//! certificate profile, made with pure-Rust crypto (`p256` keys, `rcgen` certificates).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use p256::ecdsa::{DerSignature, SigningKey as P256Key, signature::Signer as _};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use rand_core::{OsRng, RngCore};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyIdMethod, KeyUsagePurpose, PublicKeyData, SerialNumber, SignatureAlgorithm,
};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::fsutil::write_atomic;
use crate::{Error, Result};

/// File name of the CA certificate written by [`GeneratedCredentials::write_to_dir`].
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the signer certificate chain (signer, then CA).
pub const SIGNER_CERT_FILE: &str = "signer.pem";
/// File name of the signer's private key (PKCS#8 PEM, mode 0600 on Unix).
pub const SIGNER_KEY_FILE: &str = "signer.key";

/// id-kp-documentSigning (RFC 9336), accepted by the C2PA certificate profile.
const DOCUMENT_SIGNING_EKU: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 3, 36];
const CA_VALIDITY_DAYS: i64 = 3650;
const SIGNER_VALIDITY_DAYS: i64 = 1825;
const ORGANIZATION: &str = "inkseal local credentials";

/// Entry point for making local credentials.
///
/// Credentials made here chain to a CA that only the artist holds, so other C2PA readers show
/// manifests signed with them as *Valid* but not *Trusted* until a recognised CA issues the
/// signer certificate (or the reader adds `ca.pem` as a trust anchor).
#[derive(Debug, Clone, Copy)]
pub struct Credentials;

/// A freshly generated CA and signer, all PEM.
///
/// The CA private key is not kept: it signs the signer certificate once and is dropped, so the
/// local CA cannot issue anything else. `Debug` does not print the signer key.
#[derive(Clone)]
pub struct GeneratedCredentials {
    /// The self-signed CA certificate (give it to readers as a trust anchor).
    pub ca_cert_pem: String,
    /// The signer certificate chain: the signer certificate, then the CA certificate.
    pub signer_chain_pem: String,
    /// The signer's ECDSA P-256 private key, PKCS#8 PEM.
    pub signer_key_pem: String,
}

impl std::fmt::Debug for GeneratedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedCredentials")
            .field("ca_cert_pem", &self.ca_cert_pem)
            .field("signer_chain_pem", &self.signer_chain_pem)
            .field("signer_key_pem", &"<redacted>")
            .finish()
    }
}

/// The paths written by [`GeneratedCredentials::write_to_dir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialPaths {
    /// `ca.pem`
    pub ca_cert: PathBuf,
    /// `signer.pem` (signer then CA)
    pub signer_chain: PathBuf,
    /// `signer.key` (mode 0600 on Unix)
    pub signer_key: PathBuf,
}

impl Credentials {
    /// Generates a CA and a signer certificate for `common_name` (the artist's name).
    ///
    /// Both keys are ECDSA P-256; certificates are X.509 v3 with SKI/AKI. The signer has
    /// `digitalSignature` key usage and the emailProtection and documentSigning extended key
    /// usages, as the C2PA certificate profile asks; the CA is limited to path length 0.
    ///
    /// # Errors
    /// [`Error::CertificateGeneration`] if the name is empty or encoding fails.
    pub fn generate(common_name: &str) -> Result<GeneratedCredentials> {
        let name = common_name.trim();
        if name.is_empty() {
            return Err(Error::CertificateGeneration(
                "the common name must not be empty".into(),
            ));
        }
        let now = now_utc()?;
        let not_before = now - Duration::hours(1);

        let ca_key = EcKey::generate();
        let mut ca_params = CertificateParams::default();
        ca_params.distinguished_name = rcgen::DistinguishedName::new();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} (inkseal local CA)"));
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, ORGANIZATION);
        ca_params.serial_number = Some(random_serial());
        ca_params.not_before = not_before;
        ca_params.not_after = now + Duration::days(CA_VALIDITY_DAYS);
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca_params.key_identifier_method = KeyIdMethod::PreSpecified(ca_key.key_id());
        let ca_cert = ca_params.self_signed(&ca_key).map_err(gen_err)?;

        let signer_key = EcKey::generate();
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, ORGANIZATION);
        params.serial_number = Some(random_serial());
        params.not_before = not_before;
        params.not_after = now + Duration::days(SIGNER_VALIDITY_DAYS);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::EmailProtection,
            ExtendedKeyUsagePurpose::Other(DOCUMENT_SIGNING_EKU.to_vec()),
        ];
        params.use_authority_key_identifier_extension = true;
        params.key_identifier_method = KeyIdMethod::PreSpecified(signer_key.key_id());
        let issuer = Issuer::from_params(&ca_params, &ca_key);
        let signer_cert = params.signed_by(&signer_key, &issuer).map_err(gen_err)?;

        let signer_key_pem = signer_key
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| Error::CertificateGeneration(format!("encoding the key: {e}")))?
            .to_string();
        let ca_cert_pem = ca_cert.pem();
        Ok(GeneratedCredentials {
            signer_chain_pem: format!("{}{}", signer_cert.pem(), ca_cert_pem),
            ca_cert_pem,
            signer_key_pem,
        })
    }
}

impl GeneratedCredentials {
    /// Writes `ca.pem`, `signer.pem` (signer then CA) and `signer.key` into `dir` (created if
    /// missing). Each file is written to a temporary file in `dir` and renamed into place; the
    /// key file has mode 0600 on Unix from the moment it exists.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] if any of the three files exists and `overwrite` is false (then
    /// nothing is written); [`Error::Io`] on I/O failure.
    pub fn write_to_dir(&self, dir: &Path, overwrite: bool) -> Result<CredentialPaths> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let paths = CredentialPaths {
            ca_cert: dir.join(CA_CERT_FILE),
            signer_chain: dir.join(SIGNER_CERT_FILE),
            signer_key: dir.join(SIGNER_KEY_FILE),
        };
        if !overwrite {
            for p in [&paths.ca_cert, &paths.signer_chain, &paths.signer_key] {
                if p.exists() {
                    return Err(Error::AlreadyExists(p.clone()));
                }
            }
        }
        // Key first: if anything fails later, the artist has at least not lost a key.
        write_atomic(
            &paths.signer_key,
            self.signer_key_pem.as_bytes(),
            overwrite,
            true,
        )?;
        write_atomic(
            &paths.signer_chain,
            self.signer_chain_pem.as_bytes(),
            overwrite,
            false,
        )?;
        write_atomic(
            &paths.ca_cert,
            self.ca_cert_pem.as_bytes(),
            overwrite,
            false,
        )?;
        Ok(paths)
    }
}

/// A P-256 key that rcgen can sign certificates with (rcgen's own crypto backends are off).
struct EcKey {
    key: P256Key,
    /// Uncompressed SEC1 point, as it appears in the SubjectPublicKeyInfo.
    public: Vec<u8>,
}

impl EcKey {
    fn generate() -> Self {
        let key = P256Key::random(&mut OsRng);
        let public = key
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec();
        EcKey { key, public }
    }

    /// RFC 7093 method 1 style key identifier: the leftmost 160 bits of the SHA-256 of the
    /// SubjectPublicKeyInfo.
    fn key_id(&self) -> Vec<u8> {
        Sha256::digest(self.subject_public_key_info())[..20].to_vec()
    }
}

impl PublicKeyData for EcKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for EcKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let signature: DerSignature = self.key.sign(msg);
        Ok(signature.as_bytes().to_vec())
    }
}

fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    // Positive and non-zero, 16 bytes (RFC 5280 allows up to 20).
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    SerialNumber::from_slice(&bytes)
}

fn now_utc() -> Result<OffsetDateTime> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| Error::CertificateGeneration(format!("system clock before 1970: {e}")))?
        .as_secs();
    let secs = i64::try_from(secs)
        .map_err(|e| Error::CertificateGeneration(format!("system clock out of range: {e}")))?;
    OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|e| Error::CertificateGeneration(format!("system clock out of range: {e}")))
}

fn gen_err(e: rcgen::Error) -> Error {
    Error::CertificateGeneration(e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use x509_parser::prelude::*;

    fn parse_all(pem: &str) -> Vec<Vec<u8>> {
        x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
            .map(|p| p.map(|p| p.contents))
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn generated_chain_meets_the_profile() {
        let creds = Credentials::generate("Ada Artist").unwrap();
        let chain = parse_all(&creds.signer_chain_pem);
        assert_eq!(chain.len(), 2, "signer then CA");
        let (_, signer) = X509Certificate::from_der(&chain[0]).unwrap();
        let (_, ca) = X509Certificate::from_der(&chain[1]).unwrap();

        assert_eq!(signer.version(), X509Version::V3);
        assert!(!signer.is_ca());
        assert!(ca.is_ca());
        assert_eq!(signer.issuer(), ca.subject());
        let ku = signer.key_usage().ok().flatten().map(|k| k.value);
        assert!(ku.is_some_and(|k| k.digital_signature() && !k.key_cert_sign()));
        let eku = signer.extended_key_usage().ok().flatten().map(|e| e.value);
        assert!(eku.is_some_and(|e| e.email_protection && !e.any));
        let aki = signer
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.clone(),
                _ => None,
            });
        let ca_ski = ca
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => Some(k.clone()),
                _ => None,
            });
        assert!(aki.is_some() && ca_ski.is_some());
        assert_eq!(aki.map(|k| k.0.to_vec()), ca_ski.map(|k| k.0.to_vec()));

        // The CA signature on the signer certificate verifies (pure-Rust verifier).
        let spki = ca.public_key().subject_public_key.data.to_vec();
        let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&spki).unwrap();
        let sig = p256::ecdsa::DerSignature::from_bytes(&signer.signature_value.data).unwrap();
        use p256::ecdsa::signature::Verifier;
        assert!(vk.verify(signer.tbs_certificate.as_ref(), &sig).is_ok());
        assert_eq!(parse_all(&creds.ca_cert_pem), vec![chain[1].clone()]);
    }

    #[test]
    fn empty_name_is_rejected() {
        assert!(matches!(
            Credentials::generate("  "),
            Err(Error::CertificateGeneration(_))
        ));
    }
}
