//! Renewal, under the store lock: `signed/NAME.pem` replaced by a certificate with a new
//! serial and validity and everything else of the old one (see `clusterca_pki::Renewal`),
//! recorded with the same group commit as every signing (the journal entry names the serial
//! it replaces, so recovery finishes a renewal over that certificate and nothing else). The
//! old certificate stays valid unless `supersede` revokes it (reason `superseded`).
//!
//! With `rekey`, new keys are written (0600, exclusively, synced) to the output directory
//! before any serial is taken; they are removed again when nothing was recorded, and kept
//! from the commit point on, as `issue` keeps its keys.
//!
//! The CA certificate is renewed the same way with its own key: same subject, key and subject
//! key identifier, new serial (recorded in the inventory, as Puppet records its CA's) and
//! validity; `ca_crt.pem` becomes the new certificate followed by the bundle it had (so the
//! old certificate stays in it as history), and the CRL is signed again.

use std::collections::HashSet;
use std::path::PathBuf;

use clusterca_pki::{
    CertName, CertificateAuthority, IssuedCert, KeyType, PrivateKey, Reason, Renewal, Ttl,
};
use rayon::prelude::*;
use time::OffsetDateTime;

use crate::fsutil::{self, Dir};
use crate::inventory::{self, InventoryLine};
use crate::issue::{first_certificate, write_keys, CERT_MODE};
use crate::{layout, serial, BatchKind, CrlUpdate, Error, FileSpec, Signer};

/// What to renew and how.
#[derive(Debug)]
pub struct RenewJob<'a> {
    /// The certnames, each with a signed certificate.
    pub names: Vec<CertName>,
    /// The new lifetime.
    pub ttl: Ttl,
    /// Make new keys (`Some(None)`: each of the old key's type).
    pub rekey: Option<Option<KeyType>>,
    /// Where `NAME.pem` (and with `rekey`, `NAME.key.pem`) go; required with `rekey`.
    pub out: Option<&'a Dir>,
    /// Revoke the old certificates with reason `superseded`.
    pub supersede: bool,
    /// The CRL's lifetime, when `supersede` signs one.
    pub crl_lifetime: Ttl,
    /// The certificate to renew, DER, instead of `signed/NAME.pem` (one name only): the one
    /// a client presented to `certificate_renewal`. Its subject must be `CN=NAME` and the CA
    /// must have issued it; it replaces whatever `signed/NAME.pem` holds.
    pub presented: Option<Vec<u8>>,
}

/// One certificate renewed.
#[derive(Debug)]
pub struct Renewed {
    /// The new certificate.
    pub cert: IssuedCert,
    /// The serial of the one it replaced.
    pub old_serial: u64,
    /// The new key's file (`rekey`).
    pub key_path: Option<PathBuf>,
    /// Where the certificate was written besides `signed/` (`out`).
    pub cert_path: Option<PathBuf>,
    /// With `supersede`: the certificates of the name revoked as superseded (the one renewed
    /// and any older one still valid), or to be revoked when that failed.
    pub superseded: Vec<u64>,
}

/// What a renewal did.
#[derive(Debug)]
pub struct RenewOutcome {
    /// The certificates renewed, in the order asked.
    pub renewed: Vec<Renewed>,
    /// The CRL `supersede` wrote, or why it could not (the renewals stand either way).
    pub superseded: Option<Result<CrlUpdate, Error>>,
}

/// What `renew --ca` did.
#[derive(Debug)]
pub struct CaRenewed {
    /// The CA certificate's serial before.
    pub old_serial: clusterca_pki::Serial,
    /// The new one's.
    pub serial: u64,
    /// The new one's notAfter.
    pub not_after: OffsetDateTime,
    /// The CRL signed again.
    pub crl: CrlUpdate,
}

fn key_file(name: &CertName) -> String {
    format!("{name}.key.pem")
}

impl Signer<'_> {
    /// Renews `job.names`; see the module documentation.
    pub fn renew(
        &mut self,
        ca: &CertificateAuthority,
        job: &RenewJob<'_>,
        now: OffsetDateTime,
    ) -> Result<RenewOutcome, Error> {
        let store = self.store;
        let pki = |name: &CertName| {
            let path = store.signed_shown(name);
            move |source| Error::Pki { path, source }
        };
        if job.rekey.is_some() && job.out.is_none() {
            return Err(Error::Usage {
                reason: "--rekey needs --out DIR for the new keys".into(),
            });
        }
        let revoked = store.crl_serials()?;
        let signed = store.signed_dir()?;
        let mut seen = HashSet::new();
        let mut olds = Vec::with_capacity(job.names.len());
        for name in &job.names {
            if !seen.insert(name) {
                return Err(Error::Usage {
                    reason: format!("{name} is given twice in this batch"),
                });
            }
            let (file_der, info) = match crate::read_cert_file(&signed, &layout::pem(name), now) {
                Err(e) if e.is_not_found() => {
                    return Err(Error::NotSigned {
                        name: name.to_string(),
                    })
                }
                other => other?,
            };
            let serial: u64 = info.serial_decimal.parse().map_err(|_| Error::Corrupt {
                path: store.signed_shown(name),
                line: None,
                reason: format!("serial 0x{} does not fit 64 bits", info.serial_hex),
            })?;
            if revoked.contains(&serial) {
                return Err(pki(name)(clusterca_pki::Error::NotRenewable {
                    reason: format!(
                        "its certificate (serial 0x{serial:04X}) is revoked; sign a new request or issue a new certificate"
                    ),
                }));
            }
            // A presented certificate (auto-renewal) must be the name's current one: an older
            // certificate of the name, or one of a cleaned and re-issued name, renews nothing,
            // and each certificate is renewed once.
            let der = match &job.presented {
                Some(p) if job.names.len() == 1 => {
                    let (presented, _) =
                        clusterca_pki::inspect::serial_and_spki(p).map_err(pki(name))?;
                    if presented != Some(serial) || *p != file_der {
                        return Err(pki(name)(clusterca_pki::Error::NotRenewable {
                            reason: format!(
                                "the certificate presented{} is not the current certificate of {name} (serial 0x{serial:04X})",
                                presented.map(|s| format!(" (serial 0x{s:04X})")).unwrap_or_default()
                            ),
                        }));
                    }
                    file_der
                }
                Some(_) => {
                    return Err(Error::Usage {
                        reason: "a presented certificate renews one name only".into(),
                    })
                }
                None => file_der,
            };
            let key_type = match job.rekey {
                Some(Some(t)) => Some(t),
                Some(None) => Some(KeyType::like(&info.public_key).ok_or_else(|| {
                    pki(name)(clusterca_pki::Error::UnsupportedKey {
                        reason: format!(
                            "this build cannot make a new {} {}-bit key; pass --key-type",
                            info.public_key.algorithm, info.public_key.bits
                        ),
                    })
                })?),
                None => None,
            };
            olds.push((name, der, serial, key_type, info.spki_der));
        }
        clusterca_pki::valid_until(now, job.ttl).map_err(|source| Error::Pki {
            path: store.shown(layout::SERIAL),
            source,
        })?;
        // Nothing is overwritten in the output directory but an earlier certificate of the
        // same name (the one being renewed, typically).
        if let Some(out) = job.out {
            for (name, old, serial, key_type, spki) in &olds {
                let cert = layout::pem(name);
                if out.entry(&cert)?.is_some_and(|e| e.is_symlink()) {
                    return Err(Error::Unsafe {
                        path: out.join(&cert),
                        reason: "is a symbolic link".into(),
                    });
                }
                if key_type.is_some() && out.entry(&key_file(name))?.is_some() {
                    return Err(key_exists(out, name, *serial, spki, store)?);
                }
                if out.exists(&cert) && !same_name_same_ca(out, &cert, old)? {
                    return Err(Error::CertExists {
                        path: out.join(&cert),
                    });
                }
            }
        }
        serial::reserve(
            store.next_serial()?,
            olds.len() as u64,
            &store.shown(layout::SERIAL),
        )?;

        let keys: Vec<PrivateKey> = olds
            .par_iter()
            .filter_map(|(name, _, _, t, _)| t.map(|t| PrivateKey::generate(t).map_err(pki(name))))
            .collect::<Result<_, _>>()?;
        let mut written = None;
        if let (Some(out), false) = (job.out, keys.is_empty()) {
            let files: Vec<(String, &PrivateKey)> = olds
                .iter()
                .zip(&keys)
                .map(|((name, ..), key)| (key_file(name), key))
                .collect();
            written = Some(write_keys(out, &files)?);
        }
        let key_paths = written.as_ref().map(|(_, p)| p.clone()).unwrap_or_default();

        let replaces: Vec<u64> = olds.iter().map(|(_, _, s, _, _)| *s).collect();
        let kind = BatchKind::Renewals {
            replaces: &replaces,
            keys: &key_paths,
        };
        let issued = self.sign_reserved(olds.len(), kind, |i, serial| {
            // Called back with each index below `olds.len()`: in range.
            let (name, old, ..) = &olds[i];
            let r = Renewal {
                serial,
                ttl: job.ttl,
                now,
                new_key: keys.get(i),
            };
            ca.renew(name, old, &r).map_err(pki(name))
        });
        // From the commit point on the keys belong to recorded certificates: they stay.
        let keep = matches!(issued, Ok(_) | Err(Error::Unfinished { .. }));
        if let (true, Some((cleanup, _))) = (keep, written.as_mut()) {
            cleanup.disarm();
        }
        let names: Vec<String> = olds.iter().map(|(n, ..)| n.to_string()).collect();
        let kept = if key_paths.is_empty() {
            ""
        } else {
            "the new keys are kept in --out, the certificates "
        };
        let recorded = |source: Error| {
            Error::Recorded {
            what: format!(
                "the renewal of {} is recorded ({kept}in signed/); `clusterca check --repair` finishes the CA directory, and signed/NAME.pem then holds each new certificate",
                names.join(", "),
            ),
            source: Box::new(source),
        }
        };
        let issued = match issued {
            Err(Error::Unfinished { source, .. }) => return Err(recorded(*source)),
            other => other?,
        };

        let mut renewed: Vec<Renewed> = issued
            .into_iter()
            .zip(&replaces)
            .enumerate()
            .map(|(i, (cert, &old_serial))| Renewed {
                cert,
                old_serial,
                key_path: key_paths.get(i).cloned(),
                cert_path: None,
                superseded: Vec::new(),
            })
            .collect();
        if let Some(out) = job.out {
            write_certificates(out, &mut renewed).map_err(recorded)?;
        }
        // Superseded: every other certificate of the name still valid (the one renewed, and
        // any left by earlier renewals), none of the new ones.
        let superseded = job.supersede.then(|| {
            let new: HashSet<u64> = renewed.iter().map(|r| r.cert.serial).collect();
            let mut old = Vec::new();
            for r in renewed.iter_mut() {
                r.superseded = store
                    .live_serials(&r.cert.name, now)?
                    .into_iter()
                    .filter(|s| !new.contains(s))
                    .collect();
                old.extend(&r.superseded);
            }
            self.revoke_serials(ca, &old, Reason::Superseded, job.crl_lifetime, now)
        });
        Ok(RenewOutcome {
            renewed,
            superseded,
        })
    }

    /// Renews the CA certificate; see the module documentation.
    pub fn renew_ca(
        &mut self,
        ca: &CertificateAuthority,
        ttl: Ttl,
        crl_lifetime: Ttl,
        now: OffsetDateTime,
    ) -> Result<CaRenewed, Error> {
        let store = self.store;
        let root = store.root();
        let ca_path = store.shown(layout::CA_CRT);
        let pki = |source| Error::Pki {
            path: ca_path.clone(),
            source,
        };
        let old = clusterca_pki::inspect::certificate_info(ca.cert_der(), now).map_err(pki)?;
        let (serial, after) =
            serial::reserve(store.next_serial()?, 1, &store.shown(layout::SERIAL))?;
        let der = ca.renew_self(serial, ttl, now).map_err(pki)?;
        let new = clusterca_pki::inspect::certificate_info(&der, now).map_err(pki)?;
        let (Some(not_before), Some(not_after)) = (new.not_before_time, new.not_after_time) else {
            return Err(pki(clusterca_pki::Error::Signing {
                reason: "the renewed CA certificate has no validity".into(),
            }));
        };
        // The serial first, then the bundle (the commit point: the serial rule counts the CA's
        // own certificates in it), then the inventory line: a crash before the bundle leaves
        // a gap; after it, a renewed CA certificate without its line, which `check` notes and
        // `check --repair` appends. Never a serial used twice, and nothing left to sign.
        root.write_atomic(
            layout::SERIAL,
            serial::format(after).as_bytes(),
            store.public_spec(),
        )?;
        let bundle = clusterca_pki::pem_encode("CERTIFICATE", &der) + ca.chain_pem();
        root.write_atomic(layout::CA_CRT, bundle.as_bytes(), store.public_spec())?;
        let line = InventoryLine {
            serial,
            not_before,
            not_after,
            subject: new.subject_oneline.clone(),
        }
        .to_line();
        inventory::append(root, layout::INVENTORY, line.as_bytes()).map_err(|f| f.error)?;
        let renewed = store.load_ca()?;
        let crl = self.revoke_serials(&renewed, &[], Reason::KeyCompromise, crl_lifetime, now)?;
        Ok(CaRenewed {
            old_serial: old.serial_number,
            serial,
            not_after,
            crl,
        })
    }
}

/// Why a key file already in `--out` stops `--rekey`: never overwritten. When it is already the
/// key of the name's current certificate (an earlier `--rekey` whose certificate was not
/// written beside it), say so, rather than invite moving away the only copy of that key.
fn key_exists(
    out: &Dir,
    name: &CertName,
    serial: u64,
    spki: &[u8],
    store: &crate::Store,
) -> Result<Error, Error> {
    let file = key_file(name);
    let current = match out.read_bounded(&file, fsutil::MAX_PEM) {
        Ok(bytes) => PrivateKey::from_bytes(&bytes).is_ok_and(|k| k.spki_der() == spki),
        Err(e @ Error::Io { .. }) if !e.is_not_found() => return Err(e),
        Err(_) => false,
    };
    Ok(if current {
        Error::Usage {
            reason: format!(
                "{} is the key of the current certificate of {name} (serial 0x{serial:04X}, {}), from an earlier renewal: copy that certificate beside it; nothing was renewed",
                out.join(&file).display(),
                store.signed_shown(name).display()
            ),
        }
    } else {
        Error::KeyExists {
            path: out.join(&file),
        }
    })
}

/// Whether `file` in `out` is a certificate for the same subject from the same issuer as
/// `old` (the one being renewed, or an earlier renewal of it): the one file renewing may
/// replace in the output directory. Reading it may fail (an I/O error is not a "no").
fn same_name_same_ca(out: &Dir, file: &str, old: &[u8]) -> Result<bool, Error> {
    let Some(der) = first_certificate(out, file)? else {
        return Ok(false);
    };
    Ok(matches!(
        (
            clusterca_pki::inspect::raw_names(&der),
            clusterca_pki::inspect::raw_names(old),
        ),
        (Ok(a), Ok(b)) if a == b
    ))
}

/// Writes each renewed certificate to `out` as `NAME.pem` (a group commit).
fn write_certificates(out: &Dir, renewed: &mut [Renewed]) -> Result<(), Error> {
    let spec = FileSpec {
        mode: CERT_MODE,
        owner: None,
    };
    let staged = renewed
        .iter()
        .map(|r| out.stage_unsynced(&layout::pem(&r.cert.name), r.cert.pem.as_bytes(), spec))
        .collect::<Result<Vec<_>, _>>()?;
    let temps: Vec<&fsutil::Staged> = staged.iter().collect();
    fsutil::sync_staged(&temps)?;
    for s in staged {
        s.commit()?;
    }
    out.sync()?;
    for r in renewed.iter_mut() {
        r.cert_path = Some(out.join(&layout::pem(&r.cert.name)));
    }
    Ok(())
}
