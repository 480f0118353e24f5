//! The operations layer: a store, the CA that signs for it and the signing policy, with every
//! operation that changes a CA directory, its preconditions written once. The CLI commands
//! and `serve` both call it.

use std::path::Path;
use std::time::Duration;

use clusterca_pki::{
    AltNamePolicy, CertName, CertRequest, CertificateAuthority, IssuedCert, Reason, Ttl,
};
use time::OffsetDateTime;

use crate::{
    CaRenewed, CrlUpdate, Error, GroupOp, GroupResult, IssueJob, IssuedFiles, Refused, RenewJob,
    RenewOutcome, Signer, Store,
};

/// A CA directory opened with its CA, ready to sign.
#[derive(Debug)]
pub struct Authority {
    store: Store,
    ca: CertificateAuthority,
    lock_timeout: Duration,
    alt_name_patterns: Vec<String>,
    crl_lifetime: Ttl,
}

/// Puppet's CRL lifetime: five years from each update (jvm-ssl-utils).
pub const CRL_LIFETIME: Ttl = Ttl::from_secs(5 * 365 * 86_400);

impl Authority {
    /// Opens the CA directory `dir` and loads its CA.
    pub fn open(dir: &Path, lock_timeout: Duration) -> Result<Authority, Error> {
        let store = Store::open(dir)?;
        let ca = store.load_ca()?;
        Ok(Authority::new(store, ca, lock_timeout))
    }

    /// An authority over an opened store and its loaded CA.
    pub fn new(store: Store, ca: CertificateAuthority, lock_timeout: Duration) -> Authority {
        Authority {
            store,
            ca,
            lock_timeout,
            alt_name_patterns: Vec::new(),
            crl_lifetime: CRL_LIFETIME,
        }
    }

    /// Alt-name patterns allowed besides `alt-names.allow` (`--allow-alt-names`).
    pub fn allow_alt_names(mut self, patterns: Vec<String>) -> Self {
        self.alt_name_patterns = patterns;
        self
    }

    /// The lifetime of every CRL this authority signs (`--next-update`).
    pub fn crl_lifetime(mut self, ttl: Ttl) -> Self {
        self.crl_lifetime = ttl;
        self
    }

    /// The lifetime of the CRLs it signs.
    pub fn crl_ttl(&self) -> Ttl {
        self.crl_lifetime
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The CA.
    pub fn ca(&self) -> &CertificateAuthority {
        &self.ca
    }

    /// The signing policy: the flag patterns plus `alt-names.allow`, read now.
    pub fn policy(&self) -> Result<AltNamePolicy, Error> {
        let mut patterns = self.alt_name_patterns.clone();
        patterns.extend(self.store.allowed_alt_names()?);
        Ok(AltNamePolicy::new(patterns))
    }

    fn signer(&self) -> Result<Signer<'_>, Error> {
        self.store.signer(self.lock_timeout)
    }

    /// Files `req` under `name` (Puppet's `PUT certificate_request`), checked before the
    /// lock is taken and again under it.
    pub fn submit(&self, name: &CertName, req: &CertRequest) -> Result<(), Error> {
        self.store.check_submittable(name, req)?;
        self.signer()?.submit(name, req)
    }

    /// Signs the requests of `names`, all or nothing. A name without a request is
    /// [`Error::NoRequest`] ([`Error::AlreadySigned`] when it has a certificate instead),
    /// found before the lock is taken; a request the policy refuses is [`Error::Pki`].
    pub fn sign(
        &self,
        names: &[CertName],
        ttl: Ttl,
        now: OffsetDateTime,
    ) -> Result<Vec<IssuedCert>, Error> {
        self.store.require_requests(names)?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let policy = self.policy()?;
        self.signer()?
            .sign_requests(&self.ca, names, &policy, ttl, now)
    }

    /// Signs every waiting request that passes the policy and returns the others with why.
    pub fn sign_all(
        &self,
        ttl: Ttl,
        now: OffsetDateTime,
    ) -> Result<(Vec<IssuedCert>, Vec<Refused>), Error> {
        let policy = self.policy()?;
        let mut signer = self.signer()?;
        let names = self.store.pending_requests()?;
        signer.sign_passing_requests(&self.ca, &names, &policy, ttl, now)
    }

    /// Issues certificates for new keys (`issue`).
    pub fn issue(&self, job: IssueJob<'_>, now: OffsetDateTime) -> Result<Vec<IssuedFiles>, Error> {
        self.store.issue_with_new_keys(&self.ca, job, now)
    }

    /// Renews certificates (`renew`); `job.crl_lifetime` is this authority's.
    pub fn renew(&self, mut job: RenewJob<'_>, now: OffsetDateTime) -> Result<RenewOutcome, Error> {
        job.crl_lifetime = self.crl_lifetime;
        self.signer()?.renew(&self.ca, &job, now)
    }

    /// The certnames `renew --all` (`within` = `None`) or `renew --expiring-within` would
    /// renew: signed, not revoked, and (with `within`) expiring within it (expired ones
    /// included).
    pub fn renewable(
        &self,
        within: Option<Ttl>,
        now: OffsetDateTime,
    ) -> Result<Vec<CertName>, Error> {
        Ok(self
            .store
            .renewable(within, now)?
            .into_iter()
            .filter_map(|s| s.name.parse().ok())
            .collect())
    }

    /// Renews the CA certificate with its own key (`renew --ca`). The authority keeps the
    /// old certificate; open a new one to sign with the renewed certificate.
    pub fn renew_ca(&self, ttl: Ttl, now: OffsetDateTime) -> Result<CaRenewed, Error> {
        self.signer()?
            .renew_ca(&self.ca, ttl, self.crl_lifetime, now)
    }

    /// Revokes with `reason` every certificate of `names` still valid (see
    /// [`Store::live_serials`], found under the lock, so that a renewal running beside is
    /// either finished and revoked too, or not begun) and `serials`; unless `force`, each of
    /// `serials` must have been issued here (or already be on the CRL).
    pub fn revoke(
        &self,
        names: &[CertName],
        serials: &[u64],
        reason: Reason,
        force: bool,
        now: OffsetDateTime,
    ) -> Result<CrlUpdate, Error> {
        // Refused before the lock when a name has nothing to revoke.
        for n in names {
            self.store.live_serials(n, now)?;
        }
        let mut signer = self.signer()?;
        if !force {
            signer.require_issued(serials)?;
        }
        let mut all = serials.to_vec();
        for n in names {
            all.extend(self.store.live_serials(n, now)?);
        }
        signer.revoke_serials(&self.ca, &all, reason, self.crl_lifetime, now)
    }

    /// Puppet's `clean`: revokes (keyCompromise) and removes the files of `names`.
    pub fn clean(&self, names: &[CertName], now: OffsetDateTime) -> Result<CrlUpdate, Error> {
        self.store.serials_to_clean(names)?;
        self.signer()?
            .clean(&self.ca, names, self.crl_lifetime, now)
    }

    /// Removes the files of `names` without revoking (Puppet's `DELETE certificate_status`).
    pub fn remove(&self, names: &[CertName]) -> Result<Vec<String>, Error> {
        self.signer()?.remove(names)
    }

    /// Signs the CRL again with the same entries (a new number and nextUpdate).
    pub fn refresh_crl(&self, now: OffsetDateTime) -> Result<CrlUpdate, Error> {
        self.signer()?
            .revoke_serials(&self.ca, &[], Reason::KeyCompromise, self.crl_lifetime, now)
    }

    /// Signs the CRL again (same entries) if its nextUpdate, read under the lock, is within
    /// `within`; `None` when another signer did it first.
    pub fn refresh_crl_if_due(
        &self,
        within: Ttl,
        now: OffsetDateTime,
    ) -> Result<Option<CrlUpdate>, Error> {
        self.signer()?
            .refresh_crl_if_due(&self.ca, within, self.crl_lifetime, now)
    }

    /// Files and signs the API requests of `ops` as one group commit (`serve`'s batches): one
    /// lock, one policy read, serials reserved together, signatures in parallel, one record
    /// (see [`Signer::group`]). Each op has its own result; an error of the whole group (the
    /// lock, I/O) is every op's.
    pub fn commit_group(&self, ops: &[GroupOp], now: OffsetDateTime) -> Vec<GroupResult> {
        let all = (|| -> Result<Vec<GroupResult>, Error> {
            let policy = self.policy()?;
            let mut signer = self.signer()?;
            Ok(signer.group(&self.ca, ops, &policy, now))
        })();
        match all {
            Ok(each) => each,
            Err(e) => {
                let e = std::sync::Arc::new(e);
                ops.iter().map(|_| Err(e.clone())).collect()
            }
        }
    }

    /// Drops expired and repeated entries from the CRL and signs it again.
    pub fn prune_crl(&self, now: OffsetDateTime) -> Result<CrlUpdate, Error> {
        self.signer()?.prune_crl(&self.ca, self.crl_lifetime, now)
    }
}
