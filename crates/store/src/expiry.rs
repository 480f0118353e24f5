//! What `check` adds about the lifecycle: the CA certificate, the CRL and the certificates that
//! expire within `--warn-days` (an expired CRL is `check`'s own error, `crl-expired`).

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
    /// Findings for what expires within `warn` of `now`: the CA certificate (`ca-expiring`, a
    /// warning; `ca-expired`, an error), the CRL's nextUpdate (`crl-expiring`, a warning), and
    /// each signed certificate (`cert-expiring` and `cert-expired`, notes). Files that do not
    /// parse are left to `check`, which reports them.
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
