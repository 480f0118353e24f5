//! What `check` adds about the lifecycle: the CA certificate, the CRL and the certificates that
//! expire within `--warn-days` (an expired CRL is `check`'s own error, `crl-expired`).

use clusterca_pki::{inspect, Finding, Rule, Severity};
use time::{Duration, OffsetDateTime};

use crate::{layout, Error, Store};

/// A certificate of `signed/` as `check` read it: what its lifecycle findings need.
#[derive(Debug)]
pub(crate) struct Leaf {
    pub(crate) name: clusterca_pki::CertName,
    pub(crate) serial: u64,
    pub(crate) not_after: OffsetDateTime,
}

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
    /// Findings for what expires within `warn` of `now`: the CA certificate (`ca-expiring`, a
    /// warning; `ca-expired`, an error), the CRL's nextUpdate (`crl-expiring`, a warning), and
    /// each signed certificate (`cert-expiring` and `cert-expired`, notes). Files that do not
    /// parse are left to `check`, which reports them.
    pub(crate) fn lifecycle_findings(
        &self,
        now: OffsetDateTime,
        warn: Duration,
        leaves: &[Leaf],
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
            if let Some(end) = info.not_after_time {
                if end <= now {
                    f.push(Finding::new(&ca_path, Rule::CaExpired, Severity::Error, format!(
                        "the CA certificate expired at {}: nothing it signed verifies; renew it with `clusterca renew --ca`",
                        info.not_after
                    )));
                } else if end - now <= warn {
                    f.push(Finding::new(&ca_path, Rule::CaExpiring, Severity::Warning, format!(
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
                f.push(Finding::new(&crl_path, Rule::CrlExpiring, Severity::Warning, format!(
                    "the CRL's nextUpdate is in {} days; sign it again with `clusterca crl` (serve does so on its own)",
                    days(next - now)
                )));
            }
        }
        let revoked = beside_check(self.revoked_serials())?;
        for leaf in leaves {
            if revoked.contains(&leaf.serial.to_string()) {
                continue;
            }
            let subject = self.signed_shown(&leaf.name).display().to_string();
            let not_after = clusterca_pki::rfc3339(leaf.not_after);
            let left = (leaf.not_after - now).whole_seconds();
            if left <= 0 {
                f.push(Finding::new(
                    subject,
                    Rule::CertExpired,
                    Severity::Info,
                    format!(
                        "{} (serial {}) expired at {not_after}",
                        leaf.name, leaf.serial
                    ),
                ));
            } else if left <= warn.whole_seconds() {
                f.push(Finding::new(
                    subject,
                    Rule::CertExpiring,
                    Severity::Info,
                    format!(
                        "{} (serial {}) expires in {} days; `clusterca renew {}` replaces it",
                        leaf.name,
                        leaf.serial,
                        left / 86_400,
                        leaf.name
                    ),
                ));
            }
        }
        Ok(f)
    }
}
