//! The artist's signing identity: a certificate chain and the matching private key.

use std::path::Path;

use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::{Error, Result};

/// A checked signing identity (ECDSA P-256, ES256) ready to sign manifests.
///
/// Construction verifies that the text is PEM, that the first certificate parses, is currently
/// valid, and holds the public key of the given private key, so a wrong key is reported here
/// rather than as an unverifiable manifest later. Whether the certificate meets the C2PA
/// certificate profile is checked by the C2PA SDK at signing time.
pub struct Signer {
    inner: c2pa::BoxedSigner,
    subject: String,
    issuer: String,
    chain_len: usize,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("chain_len", &self.chain_len)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Builds a signer from a PEM certificate chain (signing certificate first, then any
    /// intermediates; the root may be included) and a PEM private key (PKCS#8 `PRIVATE KEY` or
    /// SEC1 `EC PRIVATE KEY`, P-256).
    ///
    /// # Errors
    /// [`Error::NotPem`] when either text holds no PEM object of the right kind,
    /// [`Error::InvalidCertificate`] when the certificate does not parse or is outside its
    /// validity period, [`Error::InvalidKey`] for keys that are not P-256, and
    /// [`Error::KeyMismatch`] when the key does not belong to the signing certificate.
    pub fn from_pem(cert_chain_pem: &str, key_pem: &str) -> Result<Signer> {
        let blocks = pem_blocks(cert_chain_pem, "CERTIFICATE");
        if blocks.is_empty() {
            return Err(Error::NotPem {
                what: "certificate chain",
                reason: "no '-----BEGIN CERTIFICATE-----' block found".into(),
            });
        }
        let mut ders = Vec::with_capacity(blocks.len());
        for block in &blocks {
            let der = x509_parser::pem::parse_x509_pem(block.as_bytes())
                .map_err(|e| Error::NotPem {
                    what: "certificate chain",
                    reason: e.to_string(),
                })?
                .1
                .contents;
            ders.push(der);
        }
        let (subject, issuer, leaf_key) = {
            let (_, leaf) = X509Certificate::from_der(&ders[0])
                .map_err(|e| Error::InvalidCertificate(format!("signing certificate: {e}")))?;
            if !leaf.validity().is_valid() {
                return Err(Error::InvalidCertificate(format!(
                    "signing certificate '{}' is not valid now (valid {} to {})",
                    leaf.subject(),
                    leaf.validity().not_before,
                    leaf.validity().not_after
                )));
            }
            let key = p256::PublicKey::from_sec1_bytes(&leaf.public_key().subject_public_key.data)
                .map_err(|_| {
                    Error::InvalidCertificate(format!(
                        "signing certificate '{}' does not hold an ECDSA P-256 public key \
                         (only ES256 is supported)",
                        leaf.subject()
                    ))
                })?;
            (leaf.subject().to_string(), leaf.issuer().to_string(), key)
        };

        let secret = parse_private_key(key_pem)?;
        if secret.public_key() != leaf_key {
            return Err(Error::KeyMismatch { subject });
        }
        let pkcs8 = secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| Error::InvalidKey(format!("re-encoding the key: {e}")))?;
        let chain: String = blocks.concat();
        let inner = c2pa::create_signer::from_keys(
            chain.as_bytes(),
            pkcs8.as_bytes(),
            c2pa::SigningAlg::Es256,
            None,
        )
        .map_err(|e| Error::InvalidKey(e.to_string()))?;
        Ok(Signer {
            inner,
            subject,
            issuer,
            chain_len: ders.len(),
        })
    }

    /// Reads the certificate chain and key from files, then calls [`Signer::from_pem`].
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be read (or is not UTF-8 text), then as
    /// [`Signer::from_pem`].
    pub fn from_files(cert_chain: &Path, key: &Path) -> Result<Signer> {
        let cert = read_text(cert_chain, "certificate chain")?;
        let key_text = read_text(key, "private key")?;
        Signer::from_pem(&cert, &key_text)
    }

    /// The signing certificate's subject distinguished name.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The signing certificate's issuer distinguished name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub(crate) fn c2pa(&self) -> &dyn c2pa::Signer {
        self.inner.as_ref()
    }
}

/// The largest certificate chain or key file read (1 MiB of PEM).
const MAX_PEM_FILE: u64 = 1 << 20;

fn read_text(path: &Path, what: &'static str) -> Result<String> {
    let bytes = inkseal_io::read::to_vec(path, MAX_PEM_FILE).map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes).map_err(|_| Error::NotPem {
        what,
        reason: format!("{} is binary, not PEM text", path.display()),
    })
}

/// Returns each `-----BEGIN {label}----- ... -----END {label}-----` block of `text`, verbatim,
/// each ending in a newline.
fn pem_blocks(text: &str, label: &str) -> Vec<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start..];
        let Some(stop) = after.find(&end) else { break };
        let block_end = stop + end.len();
        out.push(format!("{}\n", &after[..block_end]));
        rest = &after[block_end..];
    }
    out
}

fn parse_private_key(key_pem: &str) -> Result<p256::SecretKey> {
    if key_pem.contains("-----BEGIN PRIVATE KEY-----") {
        let block = pem_blocks(key_pem, "PRIVATE KEY").concat();
        p256::SecretKey::from_pkcs8_pem(&block).map_err(|e| {
            Error::InvalidKey(format!(
                "not an ECDSA P-256 PKCS#8 key (only ES256 is supported): {e}"
            ))
        })
    } else if key_pem.contains("-----BEGIN EC PRIVATE KEY-----") {
        let block = pem_blocks(key_pem, "EC PRIVATE KEY").concat();
        p256::SecretKey::from_sec1_pem(&block).map_err(|e| {
            Error::InvalidKey(format!(
                "not an ECDSA P-256 SEC1 key (only ES256 is supported): {e}"
            ))
        })
    } else if key_pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        Err(Error::InvalidKey(
            "encrypted private keys are not supported; decrypt it first".into(),
        ))
    } else if key_pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
        Err(Error::InvalidKey(
            "RSA keys are not supported; use an ECDSA P-256 key (ES256)".into(),
        ))
    } else {
        Err(Error::NotPem {
            what: "private key",
            reason: "no '-----BEGIN PRIVATE KEY-----' or '-----BEGIN EC PRIVATE KEY-----' block \
                     found"
                .into(),
        })
    }
}
