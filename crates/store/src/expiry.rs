//! What `check` adds about the lifecycle: the CA certificate, the CRL and the certificates that
//! expire within `--warn-days` (an expired CRL is `check`'s own error, `crl-expired`), and an
//! interrupted `renew --ca`.

use clusterca_pki::{inspect, Finding, Severity};
use time::{Duration, OffsetDateTime};

use crate::{layout, CertState, Error, Store};

fn days(d: Duration) -> i64 {
    d.whole_days()
}

/// What `check` itself reports (a symlink or a FIFO in the layout, a file that does not
/// parse) adds nothing here: an empty answer. An I/O error still fails the check (exit 4).
fn beside_check<T: Default>(r: Result<T, Error>) -> Result<T, Error> {
    match r {
        Err(e @ Error::Io { .. }) if !e.is_not_found() => Err(e),
        Err(_) => Ok(T::default()),
        ok => ok,
    }
}

impl Store {
    /// Inventory lines of the CA's own subject with a serial above the CA certificate's that
    /// `ca_crt.pem` does not hold: what an interrupted `renew --ca` leaves (its serial and its
    /// line were written, the bundle was not).
    pub(crate) fn unfinished_ca_renewals(
        &self,
        bundle: &[Vec<u8>],
    ) -> Result<Vec<crate::InventoryLine>, Error> {
        let Some(ca) = bundle
            .first()
            .and_then(|der| inspect::certificate_info(der, OffsetDateTime::now_utc()).ok())
        else {
            return Ok(Vec::new());
        };
        let Ok(current) = ca.serial_decimal.parse::<u64>() else {
            return Ok(Vec::new());
        };
        let held: Vec<u64> = bundle
            .iter()
            .filter_map(|d| inspect::serial_and_spki(d).ok().and_then(|(s, _)| s))
            .collect();
        Ok(
            crate::inventory::lines_of(self.root(), layout::INVENTORY, &ca.subject_oneline)?
                .into_iter()
                .filter(|l| l.serial > current && !held.contains(&l.serial))
                .collect(),
        )
    }

    /// `check --repair`: finishes the latest interrupted `renew --ca` by signing the CA
    /// certificate with the serial and dates its inventory line records (the certificate was
    /// never written, so none other with that serial exists) and putting it first in
    /// `ca_crt.pem`. Returns what it did. Under the store lock.
    pub(crate) fn finish_ca_renewal(&self) -> Result<Option<String>, Error> {
        let bundle = match self.read_ca_bundle() {
            Ok(b) => b,
            Err(_) => return Ok(None),
        };
        let certs = inspect::certificates(&bundle).unwrap_or_default();
        let Some(line) = beside_check(self.unfinished_ca_renewals(&certs))?
            .into_iter()
            .max_by_key(|l| l.serial)
        else {
            return Ok(None);
        };
        let Ok(ca) = self.load_ca() else {
            return Ok(None);
        };
        let path = self.shown(layout::CA_CRT);
        let der = ca
            .renew_self_at(
                line.serial,
                (line.not_before, line.not_after),
                OffsetDateTime::now_utc(),
            )
            .map_err(|source| Error::Pki {
                path: path.clone(),
                source,
            })?;
        let pem = clusterca_pki::pem_encode("CERTIFICATE", &der) + ca.chain_pem();
        self.root()
            .write_atomic(layout::CA_CRT, pem.as_bytes(), self.public_spec())?;
        Ok(Some(format!(
            "finished the interrupted CA renewal: {} now starts with the CA certificate of serial 0x{:04X}",
            path.display(),
            line.serial
        )))
    }

    fn unfinished_ca_renewal(
        &self,
        f: &mut Vec<Finding>,
        ca_path: &str,
        bundle: &[Vec<u8>],
    ) -> Result<(), Error> {
        for line in beside_check(self.unfinished_ca_renewals(bundle))? {
            f.push(Finding::new(ca_path, "ca-renewal-unfinished", Severity::Error, format!(
                "inventory.txt records CA certificate serial 0x{:04X}, which ca_crt.pem does not hold: an interrupted `renew --ca`; `check --repair` finishes it",
                line.serial
            )));
        }
        Ok(())
    }
}

impl Store {
    /// Findings for what expires within `warn` of `now`: the CA certificate (`ca-expiring`, a
    /// warning; `ca-expired`, an error), the CRL's nextUpdate (`crl-expiring`, a warning), and
    /// each signed certificate (`cert-expiring` and `cert-expired`, notes). Files that do not
    /// parse are left to `check`, which reports them.
    ///
    /// And `ca-renewal-unfinished` (an error): the inventory records a certificate of the CA's
    /// own subject with a serial above the CA certificate's that `ca_crt.pem` does not hold, as
    /// an interrupted `renew --ca` leaves it (running it again finishes the renewal).
    pub fn lifecycle_findings(
        &self,
        now: OffsetDateTime,
        warn: Duration,
    ) -> Result<Vec<Finding>, Error> {
        let mut f = Vec::new();
        let ca_path = self.shown(layout::CA_CRT).display().to_string();
        let bundle = match self.read_ca_bundle() {
            Ok(b) => b,
            Err(Error::Unsafe { .. }) => Vec::new(),
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => return Err(e),
        };
        let bundle_certs = inspect::certificates(&bundle).unwrap_or_default();
        if let Some(info) = bundle_certs
            .first()
            .and_then(|der| inspect::certificate_info(der, now).ok())
        {
            self.unfinished_ca_renewal(&mut f, &ca_path, &bundle_certs)?;
            if let Some(end) = info.not_after_time {
                if end <= now {
                    f.push(Finding::new(&ca_path, "ca-expired", Severity::Error, format!(
                        "the CA certificate expired at {}: nothing it signed verifies; renew it with `clusterca renew --ca`",
                        info.not_after
                    )));
                } else if end - now <= warn {
                    f.push(Finding::new(&ca_path, "ca-expiring", Severity::Warning, format!(
                        "the CA certificate expires in {} days ({}); renew it with `clusterca renew --ca`",
                        days(end - now),
                        info.not_after
                    )));
                }
            }
        }
        let crl_path = self.shown(layout::CA_CRL).display().to_string();
        let crl = match self.read_crl() {
            Ok(b) => b,
            Err(Error::Unsafe { .. }) => Vec::new(),
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => return Err(e),
        };
        if let Some(next) = inspect::crls(&crl)
            .ok()
            .and_then(|c| c.into_iter().next())
            .and_then(|der| inspect::crl_info(&der).ok())
            .and_then(|i| i.next_update_time)
        {
            if next > now && next - now <= warn {
                f.push(Finding::new(&crl_path, "crl-expiring", Severity::Warning, format!(
                    "the CRL's nextUpdate is in {} days; sign it again with `clusterca crl` (serve does so on its own)",
                    days(next - now)
                )));
            }
        }
        let statuses = beside_check(self.statuses(now))?;
        for s in statuses {
            let Some(left) = s.seconds_left else { continue };
            let subject = self.signed_shown(&match s.name.parse() {
                Ok(n) => n,
                Err(_) => continue,
            });
            match s.state {
                CertState::Expired => f.push(Finding::new(
                    subject.display().to_string(),
                    "cert-expired",
                    Severity::Info,
                    format!(
                        "{} (serial {}) expired at {}",
                        s.name,
                        s.serial_number.unwrap_or_default(),
                        s.not_after.unwrap_or_default()
                    ),
                )),
                CertState::Signed if left <= warn.whole_seconds() => f.push(Finding::new(
                    subject.display().to_string(),
                    "cert-expiring",
                    Severity::Info,
                    format!(
                        "{} (serial {}) expires in {} days; `clusterca renew {}` replaces it",
                        s.name,
                        s.serial_number.unwrap_or_default(),
                        left / 86_400,
                        s.name
                    ),
                )),
                _ => {}
            }
        }
        Ok(f)
    }
}
