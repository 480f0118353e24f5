//! Revocation: `revoke`, `clean` and CRL regeneration, all under the store lock.
//!
//! The CRL is its own state: the existing entries are read back from the first CRL in
//! `ca_crl.pem`, the new ones added, the CRL number incremented, and only that first CRL
//! replaced; any further CRLs in the file (the chain Puppet's `setup` writes, own CRL first)
//! are kept byte for byte. Each entry keeps the reason it was revoked with (keyCompromise
//! by default, as Puppet's).

use std::collections::BTreeMap;

use clusterca_pki::inspect;
use clusterca_pki::{CertName, CertificateAuthority, CrlEntry, CrlSpec, Reason, Ttl};
use time::OffsetDateTime;

use crate::{layout, serial, Error, Signer, Store};

/// What a revocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlUpdate {
    /// Serials newly added to the CRL.
    pub revoked: Vec<u64>,
    /// Serials that were already on it.
    pub already: Vec<u64>,
    /// The new CRL number.
    pub crl_number: u64,
    /// Files removed (`clean`).
    pub removed: Vec<String>,
    /// Entries `crl --prune` dropped: certificates that have expired.
    pub pruned_expired: Vec<u64>,
    /// Repeated entries `crl --prune` dropped (one of each serial stays).
    pub pruned_duplicates: Vec<u64>,
    /// The new CRL's nextUpdate.
    pub next_update: OffsetDateTime,
}

/// The first CRL's entries and number, and the PEM text of the CRLs after it.
struct CrlState {
    entries: BTreeMap<u64, (OffsetDateTime, Reason)>,
    /// Serials that appear more than once (a CRL someone else wrote).
    duplicates: Vec<u64>,
    number: u64,
    rest_pem: String,
    /// The CA's own CRL's nextUpdate (none for a CA that never had a CRL).
    next_update: Option<OffsetDateTime>,
}

impl Store {
    fn crl_state(&self) -> Result<CrlState, Error> {
        let path = self.shown(layout::CA_CRL);
        let bytes = self.read_crl()?;
        // An empty file is a CA that never had a CRL (hand-made, or imported without one):
        // start one. Anything else that holds no CRL is an error, never silently replaced.
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(CrlState {
                entries: BTreeMap::new(),
                duplicates: Vec::new(),
                number: 0,
                rest_pem: String::new(),
                next_update: None,
            });
        }
        let crls = inspect::crls(&bytes).map_err(|source| Error::Pki {
            path: path.clone(),
            source,
        })?;
        let Some(first) = crls.first() else {
            return Err(Error::Corrupt {
                path,
                line: None,
                reason: "no X509 CRL block".into(),
            });
        };
        let info = inspect::crl_info(first).map_err(|source| Error::Pki {
            path: path.clone(),
            source,
        })?;
        let mut entries = BTreeMap::new();
        let mut duplicates = Vec::new();
        for r in &info.revoked {
            let serial = r
                .serial_decimal
                .parse::<u64>()
                .map_err(|_| Error::Corrupt {
                    path: path.clone(),
                    line: None,
                    reason: format!("revoked serial 0x{} does not fit 64 bits", r.serial_hex),
                })?;
            // A reason clusterca does not write (certificateHold, ...) is kept as unspecified.
            let reason = match r.reason_code {
                None => Reason::Unspecified,
                Some(code) => Reason::from_code(code).unwrap_or(Reason::Unspecified),
            };
            let at = r.revoked_at_time.unwrap_or(OffsetDateTime::UNIX_EPOCH);
            if entries.insert(serial, (at, reason)).is_some() {
                duplicates.push(serial);
            }
        }
        let number = info
            .crl_number
            .as_deref()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let rest_pem = crls[1..]
            .iter()
            .map(|der| clusterca_pki::pem_encode("X509 CRL", der))
            .collect();
        Ok(CrlState {
            entries,
            duplicates,
            number,
            rest_pem,
            next_update: info.next_update_time,
        })
    }

    /// Serials on the CA's own CRL that fit 64 bits (an empty file has none): what the serial
    /// rule counts. Larger ones are above Puppet's limit and cannot collide.
    pub(crate) fn crl_serials(&self) -> Result<std::collections::BTreeSet<u64>, Error> {
        let path = self.shown(layout::CA_CRL);
        let bytes = self.read_crl()?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Default::default());
        }
        let pki = |source| Error::Pki {
            path: path.clone(),
            source,
        };
        let crls = inspect::crls(&bytes).map_err(pki)?;
        let Some(first) = crls.first() else {
            return Ok(Default::default());
        };
        Ok(inspect::crl_info(first)
            .map_err(pki)?
            .revoked
            .iter()
            .filter_map(|r| r.serial_decimal.parse().ok())
            .collect())
    }

    /// Every certificate of `name` still valid: the one in `signed/NAME.pem` and every
    /// other one the inventory records under `/CN=NAME` that has not expired (renewals leave
    /// the old certificate valid, and a cleaned name's may still be out there). What revoking
    /// a name revokes. [`Error::NotSigned`] when there is none at all.
    ///
    /// An inventory line counts only when nothing contradicts it: a serial on more than one
    /// line (`duplicate-serial`), one of the CA's own certificates (a CA whose CN is also a
    /// certname), or one held by another file in `signed/`, is left alone.
    pub fn live_serials(&self, name: &CertName, now: OffsetDateTime) -> Result<Vec<u64>, Error> {
        let mut serials = match self.signed_serial(name) {
            Ok(s) => vec![s],
            Err(Error::NotSigned { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        let lines = crate::inventory::live_serials_of(
            self.root(),
            layout::INVENTORY,
            &format!("/CN={name}"),
            now,
        )?;
        let others: Vec<u64> = lines.into_iter().filter(|s| !serials.contains(s)).collect();
        if !others.is_empty() {
            let counts = crate::inventory::serial_counts(self.root(), layout::INVENTORY)?;
            let ca = self.ca_serials()?;
            let filed = self.recorded_serials()?.signed;
            for s in others {
                if counts.get(&s) == Some(&1) && !ca.contains(&s) && !filed.contains(&s) {
                    serials.push(s);
                }
            }
        }
        if serials.is_empty() {
            return Err(Error::NotSigned {
                name: name.to_string(),
            });
        }
        Ok(serials)
    }

    /// The serial of `signed/<name>.pem`.
    pub fn signed_serial(&self, name: &CertName) -> Result<u64, Error> {
        let path = self.signed_shown(name);
        let not_signed = || Error::NotSigned {
            name: name.to_string(),
        };
        let Some(signed) = self.sub_if_present(layout::SIGNED)? else {
            return Err(not_signed());
        };
        let (_, info) =
            match crate::read_cert_file(&signed, &layout::pem(name), OffsetDateTime::now_utc()) {
                Err(e) if e.is_not_found() => return Err(not_signed()),
                other => other?,
            };
        info.serial_decimal.parse().map_err(|_| Error::Corrupt {
            path,
            line: None,
            reason: format!("serial 0x{} does not fit 64 bits", info.serial_hex),
        })
    }
}

impl Store {
    /// The serials `clean` would revoke for `names` (every certificate of each still valid,
    /// see [`Store::live_serials`]); an error names a certname with neither a signed
    /// certificate nor a request. Needs no lock: callers check before taking it.
    pub fn serials_to_clean(&self, names: &[CertName]) -> Result<Vec<u64>, Error> {
        let mut serials = Vec::new();
        let now = OffsetDateTime::now_utc();
        for name in names {
            match self.live_serials(name, now) {
                Ok(live) => serials.extend(live),
                Err(Error::NotSigned { .. }) if self.has_request(name)? => {}
                Err(Error::NotSigned { .. }) => {
                    return Err(Error::Unknown {
                        name: name.to_string(),
                    })
                }
                Err(e) => return Err(e),
            }
        }
        Ok(serials)
    }
}

impl Signer<'_> {
    /// Refuses a serial this CA never issued (on no inventory line, in no `signed/` file) and
    /// that is not already on the CRL: revoking it would make the certificate that later
    /// gets it revoked from birth. Under the lock, so the answer holds for the revocation.
    pub fn require_issued(&self, serials: &[u64]) -> Result<(), Error> {
        if serials.is_empty() {
            return Ok(());
        }
        let mut recorded = self.store.recorded_serials()?;
        // Issued means a whole inventory line, not just a first word that reads as hex.
        recorded.inventory =
            crate::inventory::recorded_serials(self.store.root(), layout::INVENTORY)?;
        match serials
            .iter()
            .find(|s| !recorded.issued(**s) && !recorded.crl.contains(s))
        {
            Some(&serial) => Err(Error::NeverIssued { serial }),
            None => Ok(()),
        }
    }

    /// Raises `serial` past `serials` (revoked with `--force` before they were issued), so that
    /// Puppet Server, which does not apply the serial rule, does not hand them out either.
    fn skip_past(&mut self, serials: &[u64]) -> Result<(), Error> {
        let Some(&top) = serials.iter().filter(|s| **s < serial::PUPPET_LIMIT).max() else {
            return Ok(());
        };
        // An unreadable file is `check`'s to report; the rule already counts the CRL.
        match self.store.read_serial() {
            Ok(next) if next <= top => {}
            _ => return Ok(()),
        }
        self.store.root().write_atomic(
            layout::SERIAL,
            serial::format(top + 1).as_bytes(),
            self.store.public_spec(),
        )
    }

    /// Adds `serials` to the CRL with `reason` (keeping its entries), increments its number
    /// and replaces the first CRL in `ca_crl.pem`. With no serials, this just reissues the CRL.
    pub fn revoke_serials(
        &mut self,
        ca: &CertificateAuthority,
        serials: &[u64],
        reason: Reason,
        next_update: Ttl,
        now: OffsetDateTime,
    ) -> Result<CrlUpdate, Error> {
        let mut state = self.store.crl_state()?;
        let mut revoked = Vec::new();
        let mut already = Vec::new();
        for &serial in serials {
            match state.entries.entry(serial) {
                std::collections::btree_map::Entry::Occupied(_) => already.push(serial),
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert((now, reason));
                    revoked.push(serial);
                }
            }
        }
        let mut update = self.write_crl(ca, &state, next_update, now)?;
        self.skip_past(&revoked)?;
        update.revoked = revoked;
        update.already = already;
        Ok(update)
    }

    /// Signs the CRL again (same entries) only if its nextUpdate, read now under the lock, is
    /// within `within`: of several servers that found it due, only the first re-signs it.
    /// `None` when it was not (any more) due.
    pub fn refresh_crl_if_due(
        &mut self,
        ca: &CertificateAuthority,
        within: Ttl,
        next_update: Ttl,
        now: OffsetDateTime,
    ) -> Result<Option<CrlUpdate>, Error> {
        let state = self.store.crl_state()?;
        match state.next_update {
            Some(next) if next - now > within.duration() => Ok(None),
            _ => self.write_crl(ca, &state, next_update, now).map(Some),
        }
    }

    /// `crl --prune`, as `puppetserver ca prune --remove-expired --remove-duplicates`: drops
    /// the entries of certificates that have expired (by the inventory's notAfter, the latest
    /// when a serial has several lines; a serial the inventory does not know stays, and so
    /// does one whose certificate is still in `signed/`) and repeated entries, then re-signs
    /// the CRL. The serials stay used: the inventory still records them.
    pub fn prune_crl(
        &mut self,
        ca: &CertificateAuthority,
        next_update: Ttl,
        now: OffsetDateTime,
    ) -> Result<CrlUpdate, Error> {
        let mut state = self.store.crl_state()?;
        let expiry = crate::inventory::not_after_by_serial(self.store.root(), layout::INVENTORY)?;
        // A revoked certificate still in `signed/` (revoked, not cleaned) keeps its entry: it
        // is what says "revoked" there, and what stops it from being renewed.
        let filed = self.store.recorded_serials()?.signed;
        let expired: Vec<u64> = state
            .entries
            .keys()
            .copied()
            .filter(|s| expiry.get(s).is_some_and(|t| *t <= now) && !filed.contains(s))
            .collect();
        for s in &expired {
            state.entries.remove(s);
        }
        let mut update = self.write_crl(ca, &state, next_update, now)?;
        update.pruned_expired = expired;
        update.pruned_duplicates = std::mem::take(&mut state.duplicates);
        Ok(update)
    }

    /// Signs `state` as the next CRL (number + 1, thisUpdate `now`) and writes it in place of
    /// the first CRL in `ca_crl.pem`.
    fn write_crl(
        &mut self,
        ca: &CertificateAuthority,
        state: &CrlState,
        next_update: Ttl,
        now: OffsetDateTime,
    ) -> Result<CrlUpdate, Error> {
        let store = self.store;
        let path = store.shown(layout::CA_CRL);
        let next = clusterca_pki::valid_until(now, next_update).map_err(|source| Error::Pki {
            path: path.clone(),
            source,
        })?;
        let spec = CrlSpec {
            number: state.number + 1,
            this_update: now,
            next_update: next,
            revoked: state
                .entries
                .iter()
                .map(|(&serial, &(revoked_at, reason))| CrlEntry {
                    serial,
                    revoked_at,
                    reason,
                })
                .collect(),
        };
        let pem = ca
            .crl(&spec)
            .map_err(|source| Error::Pki { path, source })?;
        let content = pem + &state.rest_pem;
        store
            .root()
            .write_atomic(layout::CA_CRL, content.as_bytes(), store.public_spec())?;
        Ok(CrlUpdate {
            revoked: Vec::new(),
            already: Vec::new(),
            crl_number: spec.number,
            removed: Vec::new(),
            pruned_expired: Vec::new(),
            pruned_duplicates: Vec::new(),
            next_update: spec.next_update,
        })
    }

    /// Puppet's `clean`: revokes the signed certificates of `names` (those that have one),
    /// then removes `signed/<name>.pem` and `requests/<name>.pem`. The inventory keeps its
    /// lines, as Puppet's does.
    pub fn clean(
        &mut self,
        ca: &CertificateAuthority,
        names: &[CertName],
        next_update: Ttl,
        now: OffsetDateTime,
    ) -> Result<CrlUpdate, Error> {
        let serials = self.store.serials_to_clean(names)?;
        let mut update =
            self.revoke_serials(ca, &serials, Reason::KeyCompromise, next_update, now)?;
        update.removed = self.remove(names)?;
        Ok(update)
    }

    /// Removes `signed/<name>.pem` and `requests/<name>.pem` of `names` without revoking
    /// (Puppet's `DELETE certificate_status`); returns the files removed.
    pub fn remove(&mut self, names: &[CertName]) -> Result<Vec<String>, Error> {
        let store = self.store;
        let before = store.signed_cached();
        let mut removed = Vec::new();
        let mut signed_removed = 0;
        let dirs = [
            store.sub_if_present(layout::SIGNED)?,
            store.sub_if_present(layout::REQUESTS)?,
        ];
        for name in names {
            for (i, dir) in dirs.iter().enumerate() {
                let Some(dir) = dir else { continue };
                let file = layout::pem(name);
                if dir.remove_if_present(&file)? {
                    signed_removed += u64::from(i == 0);
                    removed.push(dir.join(&file).display().to_string());
                }
            }
        }
        for dir in dirs.iter().flatten() {
            dir.sync()?;
        }
        // Fewer files cannot raise the highest serial: the cache stays valid.
        store.signed_changed(before, &[], 0, signed_removed);
        Ok(removed)
    }
}
