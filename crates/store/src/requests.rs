//! The CSR queue: `submit` files a request under `requests/<name>.pem`, `sign` signs queued
//! requests under the alt-name policy (flag patterns plus `alt-names.allow` in the CA
//! directory, one pattern a line, `#` comments).

use clusterca_pki::{
    AltNamePolicy, CertName, CertRequest, CertificateAuthority, IssuedCert, LeafSpec, Ttl,
};
use time::OffsetDateTime;

use crate::{fsutil, layout, Error, Signer, Store};

/// Name of the allow-list file in the CA directory.
pub const ALLOW_FILE: &str = layout::ALT_NAMES_ALLOW;

impl Store {
    /// Patterns from `alt-names.allow`, if the file exists.
    pub fn allowed_alt_names(&self) -> Result<Vec<String>, Error> {
        match self.root().read_bounded(ALLOW_FILE, fsutil::MAX_PEM) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes)
                .lines()
                .map(|l| l.split('#').next().unwrap_or_default().trim().to_owned())
                .filter(|l| !l.is_empty())
                .collect()),
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Whether `req` may be filed under `name`: its CN is `name`, and `name` has neither a
    /// request nor a signed (or revoked) certificate, refused in Puppet's words. Needs no lock: callers check before taking it, and
    /// [`Signer::submit`] checks again under it.
    pub fn check_submittable(&self, name: &CertName, req: &CertRequest) -> Result<(), Error> {
        req.check_name(name).map_err(|source| Error::Pki {
            path: self.request_shown(name),
            source,
        })?;
        let state = if self.has_signed(name)? {
            let revoked = self.signed_serial(name)?;
            if self.revoked_serials()?.contains(&revoked.to_string()) {
                "revoked"
            } else {
                "signed"
            }
        } else if self.has_request(name)? {
            "requested"
        } else {
            return Ok(());
        };
        Err(Error::AlreadyFiled {
            name: name.to_string(),
            state,
        })
    }

    /// Refuses any of `names` with no request waiting. Needs no lock: callers check before
    /// taking it, and signing finds out again under it.
    pub fn require_requests(&self, names: &[CertName]) -> Result<(), Error> {
        let mut missing = None;
        for n in names {
            if !self.has_request(n)? {
                missing = Some(n);
                break;
            }
        }
        match missing {
            Some(name) if self.has_signed(name)? => Err(Error::AlreadySigned {
                name: name.to_string(),
            }),
            Some(name) => Err(Error::NoRequest {
                name: name.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Certnames with a request waiting, sorted.
    pub fn pending_requests(&self) -> Result<Vec<CertName>, Error> {
        let mut names = crate::status::names_in(self, layout::REQUESTS)?;
        names.sort();
        Ok(names)
    }

    /// `name`'s request, parsed and passed by `policy`.
    fn checked_request(
        &self,
        name: &CertName,
        policy: &AltNamePolicy,
    ) -> Result<CertRequest, Error> {
        let req = self.parse_request(name)?;
        name.check_dns()
            .and_then(|()| policy.check(name, &req))
            .map_err(|source| Error::Pki {
                path: self.request_shown(name),
                source,
            })?;
        Ok(req)
    }

    fn parse_request(&self, name: &CertName) -> Result<CertRequest, Error> {
        let path = self.request_shown(name);
        let bytes = match self.read_request(name)? {
            Some(b) => b,
            // Signed meanwhile (or finished by recovery from an interrupted run): say so.
            None if self.has_signed(name)? => {
                return Err(Error::AlreadySigned {
                    name: name.to_string(),
                })
            }
            None => {
                return Err(Error::NoRequest {
                    name: name.to_string(),
                })
            }
        };
        CertRequest::parse(&bytes).map_err(|source| Error::Pki { path, source })
    }
}

/// A request `sign --all` left in the queue, and why.
pub type Refused = (CertName, Error);

impl Signer<'_> {
    /// Files `req` under `requests/<name>.pem`, as Puppet's `PUT certificate_request` does:
    /// refused when the name already has a request or a signed certificate, or when the CN
    /// is not the name.
    pub fn submit(&mut self, name: &CertName, req: &CertRequest) -> Result<(), Error> {
        let store = self.store;
        store.check_submittable(name, req)?;
        store.ensure_dirs()?;
        store.requests_dir()?.write_atomic(
            &layout::pem(name),
            req.pem.as_bytes(),
            store.public_spec(),
        )
    }

    /// Signs every queued request of `names` that passes `policy` and returns the others with
    /// why each was refused (unreadable, not a request, refused by the policy, signed
    /// meanwhile): one refused request does not hold up the queue. Errors of the store itself
    /// (I/O, a symlink) still stop everything.
    pub fn sign_passing_requests(
        &mut self,
        ca: &CertificateAuthority,
        names: &[CertName],
        policy: &AltNamePolicy,
        ttl: Ttl,
        now: OffsetDateTime,
    ) -> Result<(Vec<IssuedCert>, Vec<Refused>), Error> {
        let mut refused = Vec::new();
        let batch = self.checked_batch(names, policy, ttl, |name, e| match e {
            Error::Pki { .. }
            | Error::Corrupt { .. }
            | Error::NoRequest { .. }
            | Error::AlreadySigned { .. } => {
                refused.push((name.clone(), e));
                Ok(())
            }
            e => Err(e),
        })?;
        Ok((self.sign_checked(ca, &batch, now)?, refused))
    }

    /// Signs the queued requests of `names` under `policy`, all or nothing: every request is
    /// checked before any serial is reserved. Signed requests are removed from `requests/`.
    pub fn sign_requests(
        &mut self,
        ca: &CertificateAuthority,
        names: &[CertName],
        policy: &AltNamePolicy,
        ttl: Ttl,
        now: OffsetDateTime,
    ) -> Result<Vec<IssuedCert>, Error> {
        let batch = self.checked_batch(names, policy, ttl, |_, e| Err(e))?;
        self.sign_checked(ca, &batch, now)
    }

    /// The requests of `names` that pass `policy`, as a batch to sign; each that does not goes
    /// to `refuse`, which may stop everything (its error) or leave it out (`Ok`).
    fn checked_batch(
        &self,
        names: &[CertName],
        policy: &AltNamePolicy,
        ttl: Ttl,
        mut refuse: impl FnMut(&CertName, Error) -> Result<(), Error>,
    ) -> Result<Vec<(LeafSpec, CertRequest)>, Error> {
        let mut batch = Vec::with_capacity(names.len());
        for name in names {
            match self.store.checked_request(name, policy) {
                Ok(req) => {
                    batch.push((LeafSpec::new(name.clone(), req.alt_names.clone(), ttl), req))
                }
                Err(e) => refuse(name, e)?,
            }
        }
        Ok(batch)
    }

    /// Signs requests already checked, as one batch (nothing when there are none).
    fn sign_checked(
        &mut self,
        ca: &CertificateAuthority,
        batch: &[(LeafSpec, CertRequest)],
        now: OffsetDateTime,
    ) -> Result<Vec<IssuedCert>, Error> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        self.sign_batch(batch, crate::BatchKind::Requests, |(spec, req), serial| {
            ca.sign_request(spec, req, serial, now)
        })
    }
}
