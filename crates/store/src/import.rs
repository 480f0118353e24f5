//! `import`: adopting a CA that already exists, either a Puppet Server `cadir` as it stands or
//! a certificate and key from elsewhere (OpenSSL, another PKI) copied into a new directory.
//!
//! Both ways end with the same proof that the CA is usable: the key matches the certificate,
//! the certificate may sign (CA:TRUE, keyCertSign when keyUsage is present), the bundle is in
//! order (issuing CA first, each certificate signed by the next), and a throwaway certificate
//! signed as the CA names the CA's subject byte for byte as its issuer.

use std::path::Path;
use std::time::Duration;

use clusterca_pki::{inspect, pem_encode, CertificateAuthority, CrlSpec, PrivateKey};
use time::OffsetDateTime;

use crate::{status::CertState, Error, Owner, Store, CRL_LIFETIME};

/// One input file: where it came from (for messages) and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The file's path, named in errors.
    pub path: &'a Path,
    /// Its contents.
    pub bytes: &'a [u8],
}

/// The files of a CA to copy into a new directory.
#[derive(Debug, Clone, Copy)]
pub struct ImportFiles<'a> {
    /// The CA certificate, or a bundle with the issuing CA first (PEM or DER).
    pub cert: Input<'a>,
    /// The CA's private key (PKCS#8, PKCS#1 or SEC1; PEM or DER).
    pub key: Input<'a>,
    /// The CA's CRL, or a chain with the CA's own CRL first; a new empty CRL when absent.
    pub crl: Option<Input<'a>>,
}

/// What an adopted CA holds.
#[derive(Debug)]
pub struct Adopted {
    /// The CA, ready to sign.
    pub ca: CertificateAuthority,
    /// Certificates in `ca_crt.pem` (2 for Puppet's intermediate + root).
    pub chain_length: usize,
    /// CRLs in `ca_crl.pem`.
    pub crl_count: usize,
    /// The CA key: `RSA 4096`, `ECDSA P-256`, `Ed25519 256`.
    pub key_algorithm: String,
    /// The next serial.
    pub next_serial: u64,
    /// Certificates in `signed/` not revoked.
    pub signed: usize,
    /// Certificates in `signed/` revoked by the CRL.
    pub revoked: usize,
    /// Requests waiting in `requests/`.
    pub requests: usize,
}

fn pki(path: &Path) -> impl FnOnce(clusterca_pki::Error) -> Error + '_ {
    move |source| Error::Pki {
        path: path.to_path_buf(),
        source,
    }
}

fn refused(path: &Path, reason: String) -> Error {
    Error::Pki {
        path: path.to_path_buf(),
        source: clusterca_pki::Error::CaMismatch { reason },
    }
}

/// The certificates of a bundle must be in order: each signed by the next, whose subject is
/// its issuer. Puppet Server and agents read `ca_crt.pem` that way.
fn check_chain_order(path: &Path, chain: &[Vec<u8>]) -> Result<(), Error> {
    for (i, pair) in chain.windows(2).enumerate() {
        let (issuer, _) = inspect::raw_names(&pair[0]).map_err(pki(path))?;
        let (_, next_subject) = inspect::raw_names(&pair[1]).map_err(pki(path))?;
        let next =
            inspect::certificate_info(&pair[1], OffsetDateTime::now_utc()).map_err(pki(path))?;
        if issuer != next_subject
            || !inspect::signed_by(&pair[0], &next.spki_der).map_err(pki(path))?
        {
            return Err(refused(
                path,
                format!(
                    "certificate {} of the bundle is not signed by certificate {} ({}); the issuing CA must come first, then its issuers in order",
                    i + 1,
                    i + 2,
                    next.subject
                ),
            ));
        }
    }
    Ok(())
}

/// The CRLs of a chain, each signed by a certificate of the bundle, the first by the CA itself.
fn check_crls(path: &Path, crls: &[Vec<u8>], chain: &[Vec<u8>]) -> Result<(), Error> {
    let now = OffsetDateTime::now_utc();
    let keys: Vec<Vec<u8>> = chain
        .iter()
        .map(|c| inspect::certificate_info(c, now).map(|i| i.spki_der))
        .collect::<Result<_, _>>()
        .map_err(pki(path))?;
    if crls.is_empty() {
        return Err(refused(path, "no X509 CRL block".into()));
    }
    for (i, crl) in crls.iter().enumerate() {
        let signers: &[Vec<u8>] = if i == 0 { &keys[..1] } else { &keys };
        let mut signed = false;
        for key in signers {
            signed |= inspect::crl_signed_by(crl, key).map_err(pki(path))?;
        }
        if !signed {
            return Err(refused(
                path,
                format!(
                    "CRL {} is not signed by {}",
                    i + 1,
                    if i == 0 {
                        "the CA (its own CRL must come first)"
                    } else {
                        "any certificate of the bundle"
                    }
                ),
            ));
        }
    }
    Ok(())
}

fn key_description(ca: &CertificateAuthority) -> String {
    inspect::spki_info(&ca.spki_der())
        .map(|k| match k.curve {
            Some(curve) => format!("{} {curve}", k.algorithm),
            None => format!("{} {}", k.algorithm, k.bits),
        })
        .unwrap_or_else(|_| "unknown".into())
}

impl Store {
    /// Creates a new CA directory `dir` (absent or empty) from an existing CA certificate (or
    /// bundle), its key and optionally its CRL chain. The key is written as PKCS#8 (which
    /// Puppet Server reads); without a CRL a new empty one is signed. The next serial is
    /// `next_serial`, else one past the highest serial the CRL revokes and the highest serial
    /// of a bundle certificate issued under the CA's own name (a renewed CA certificate), at
    /// least 2.
    pub fn import(
        dir: &Path,
        files: ImportFiles<'_>,
        next_serial: Option<u64>,
        owner: Option<Owner>,
        now: OffsetDateTime,
    ) -> Result<(Store, Adopted), Error> {
        crate::refuse_existing(dir)?;
        let (cert_path, key_path) = (files.cert.path, files.key.path);
        let chain = inspect::certificates(files.cert.bytes).map_err(pki(cert_path))?;
        if chain.is_empty() {
            return Err(refused(cert_path, "no CERTIFICATE block".into()));
        }
        let key = PrivateKey::from_bytes(files.key.bytes).map_err(pki(key_path))?;
        let chain_pem: String = chain.iter().map(|d| pem_encode("CERTIFICATE", d)).collect();
        let ca = CertificateAuthority::load(chain_pem.as_bytes(), key).map_err(|e| match e {
            clusterca_pki::Error::CaMismatch { ref reason } if reason.contains("private key") => {
                pki(key_path)(e)
            }
            other => pki(cert_path)(other),
        })?;
        check_chain_order(cert_path, &chain)?;
        ca.self_test(now).map_err(pki(cert_path))?;

        let (crl_pem, crl_count, highest_revoked) = match files.crl {
            Some(Input { path, bytes }) => {
                let crls = inspect::crls(bytes).map_err(pki(path))?;
                check_crls(path, &crls, &chain)?;
                let info = inspect::crl_info(&crls[0]).map_err(pki(path))?;
                let highest = info
                    .revoked
                    .iter()
                    .filter_map(|r| r.serial_decimal.parse::<u64>().ok())
                    .max()
                    .unwrap_or(0);
                let pem: String = crls.iter().map(|d| pem_encode("X509 CRL", d)).collect();
                (pem, crls.len(), highest)
            }
            None => {
                let crl = ca
                    .crl(&CrlSpec {
                        number: 0,
                        this_update: now,
                        next_update: now + CRL_LIFETIME,
                        revoked: Vec::new(),
                    })
                    .map_err(pki(cert_path))?;
                (crl, 1, 0)
            }
        };
        // A renewed CA certificate (clusterca's `renew --ca`) took its serial from the CA's own
        // counter: no leaf may get it. So past every serial in the bundle issued under the
        // CA's own name, too.
        // `chain` is not empty: refused above.
        let (_, own_name) = inspect::raw_names(&chain[0]).map_err(pki(cert_path))?;
        let highest_own = chain
            .iter()
            .filter(|d| inspect::raw_names(d).is_ok_and(|(issuer, _)| issuer == own_name))
            .filter_map(|d| inspect::serial_and_spki(d).ok().and_then(|(s, _)| s))
            .max()
            .unwrap_or(0);
        let next_serial =
            next_serial.unwrap_or(highest_revoked.max(highest_own).saturating_add(1).max(2));
        let new = crate::NewDir {
            crl: Some(crl_pem),
            crl_chain: String::new(),
            next_serial,
            inventory: String::new(),
            extra: Vec::new(),
        };
        let store = Store::install_new(dir, &ca, new, owner, now)?;
        let adopted = Adopted {
            key_algorithm: key_description(&ca),
            ca,
            chain_length: chain.len(),
            crl_count,
            next_serial,
            signed: 0,
            revoked: 0,
            requests: 0,
        };
        Ok((store, adopted))
    }

    /// Adopts this CA directory as it stands (Puppet Server's, or an earlier clusterca's):
    /// takes the store lock (proving the directory is writable and no other clusterca signer
    /// holds it), proves the CA usable as the module documentation says, and creates
    /// `signed/` and `requests/` when missing (`puppetserver ca setup` makes no `requests/`).
    /// Nothing else is changed.
    pub fn adopt(&self, timeout: Duration, now: OffsetDateTime) -> Result<Adopted, Error> {
        let _lock = self.signer(timeout)?;
        let crt_path = self.shown(crate::layout::CA_CRT);
        let ca = self.load_ca()?;
        let chain = inspect::certificates(ca.chain_pem().as_bytes()).map_err(pki(&crt_path))?;
        check_chain_order(&crt_path, &chain)?;
        ca.self_test(now).map_err(pki(&crt_path))?;
        let crl_path = self.shown(crate::layout::CA_CRL);
        let crl_bytes = self.read_crl()?;
        let crl_count = if crl_bytes.iter().all(u8::is_ascii_whitespace) {
            0
        } else {
            let crls = inspect::crls(&crl_bytes).map_err(pki(&crl_path))?;
            check_crls(&crl_path, &crls, &chain)?;
            crls.len()
        };
        let next_serial = self.read_serial()?;
        self.ensure_dirs()?;
        let statuses = self.statuses(now)?;
        let count = |s: CertState| statuses.iter().filter(|c| c.state == s).count();
        Ok(Adopted {
            key_algorithm: key_description(&ca),
            chain_length: chain.len(),
            crl_count,
            next_serial,
            signed: count(CertState::Signed),
            revoked: count(CertState::Revoked),
            requests: count(CertState::Requested),
            ca,
        })
    }
}
