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

/// One API request of a group commit (`serve` gathers concurrent ones into one).
#[derive(Debug, Clone)]
pub enum GroupOp {
    /// `PUT certificate_request`: file `req` under `name`; with `autosign`, sign it at once
    /// for `ttl` instead (filed only if the policy or the signing refuses it).
    Submit {
        /// The certname of the path.
        name: CertName,
        /// The request, parsed.
        req: CertRequest,
        /// The server's autosign setting said yes.
        autosign: bool,
        /// The lifetime of an autosigned certificate.
        ttl: Ttl,
    },
    /// `PUT certificate_status` to `signed`: sign the queued request of `name` for `ttl`.
    Sign {
        /// The certname.
        name: CertName,
        /// The lifetime.
        ttl: Ttl,
    },
}

/// What a group commit did with one op (durable when it is returned).
#[derive(Debug)]
pub enum GroupDone {
    /// Filed in `requests/`, waiting for an admin; `autosign_refused` says why autosigning
    /// did not happen when it was asked for.
    Queued {
        /// Why the autosign was refused (the policy, a failed signing).
        autosign_refused: Option<String>,
        /// The store's own error when the signing failed on it (I/O) rather than on the
        /// request: the request is filed all the same.
        store_error: Option<std::sync::Arc<Error>>,
    },
    /// Signed: a submission autosigned, or a queued request.
    Signed(IssuedCert),
}

/// One op's result: an error of the whole group is shared by every op.
pub type GroupResult = Result<GroupDone, std::sync::Arc<Error>>;

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

    /// The group commit of `ops` (see [`GroupOp`]), under this lock. Every op is checked as
    /// the single-request path checks it (a name filed or signed meanwhile by another server
    /// is refused here, under the lock; a name twice in the group is refused the second
    /// time). Then the signings are one batch (serials reserved together, signed in parallel,
    /// one record: [`Signer::record`]'s guarantees) and the requests to file are written and
    /// made durable together. An autosigned request is never written to `requests/`: its
    /// certificate is what is made durable; a refused autosign files it instead, as Puppet
    /// leaves a refused autosign queued.
    pub fn group(
        &mut self,
        ca: &CertificateAuthority,
        ops: &[GroupOp],
        policy: &AltNamePolicy,
        now: OffsetDateTime,
    ) -> Vec<GroupResult> {
        use std::sync::Arc;
        let store = self.store;
        // Indexing below: every `i` is an index of `ops` (from its enumeration, or kept in
        // `to_sign`/`to_file`), `out` has one slot per op, and every `k` comes back from
        // `sign_requests_each` below `to_sign.len()`: all in range.
        let mut out: Vec<Option<GroupResult>> = (0..ops.len()).map(|_| None).collect();
        let mut seen = std::collections::HashSet::new();
        // (op index, spec, request) to sign; (op index, why autosign was refused) to file.
        let mut to_sign: Vec<(usize, LeafSpec, CertRequest)> = Vec::new();
        let mut to_file: Vec<(usize, Option<String>)> = Vec::new();
        let signed = store.signed_dir();
        for (i, op) in ops.iter().enumerate() {
            let done = match op {
                GroupOp::Submit {
                    name,
                    req,
                    autosign,
                    ttl,
                } => {
                    if !seen.insert(name) {
                        Err(Error::AlreadyFiled {
                            name: name.to_string(),
                            state: "requested",
                        })
                    } else if let Err(e) = store.check_submittable(name, req) {
                        Err(e)
                    } else if *autosign {
                        match name.check_dns().and_then(|()| policy.check(name, req)) {
                            Ok(()) => {
                                let spec = LeafSpec::new(name.clone(), req.alt_names.clone(), *ttl);
                                to_sign.push((i, spec, req.clone()));
                            }
                            Err(e) => to_file.push((i, Some(e.to_string()))),
                        }
                        continue;
                    } else {
                        to_file.push((i, None));
                        continue;
                    }
                }
                GroupOp::Sign { name, ttl } => {
                    let already = match &signed {
                        Ok(dir) => dir.exists(&layout::pem(name)),
                        Err(_) => false,
                    };
                    if !seen.insert(name) || already {
                        Err(Error::AlreadySigned {
                            name: name.to_string(),
                        })
                    } else {
                        match store.checked_request(name, policy) {
                            Ok(req) => {
                                let spec = LeafSpec::new(name.clone(), req.alt_names.clone(), *ttl);
                                to_sign.push((i, spec, req));
                                continue;
                            }
                            Err(e) => Err(e),
                        }
                    }
                }
            };
            out[i] = Some(done.map_err(Arc::new));
        }
        // Requests filed because their signing failed on the store itself (not issued):
        // that error, for the caller to tell (the CLI's exit 4).
        let mut store_failure: Option<Arc<Error>> = None;
        if !to_sign.is_empty() {
            let signing = self.sign_requests_each(to_sign.len(), |k, serial| {
                let (_, spec, req) = &to_sign[k];
                ca.sign_request(spec, req, serial, now)
                    .map_err(|source| Error::Pki {
                        path: store.signed_shown(&spec.name),
                        source,
                    })
            });
            match signing {
                Ok((signed, failed)) => {
                    for (k, cert) in signed {
                        out[to_sign[k].0] = Some(Ok(GroupDone::Signed(cert)));
                    }
                    // One request that cannot be signed holds up no other: a submission is
                    // filed for an admin with why, a signing is refused.
                    for (k, e) in failed {
                        let i = to_sign[k].0;
                        match &ops[i] {
                            GroupOp::Submit { .. } => to_file.push((i, Some(e.to_string()))),
                            GroupOp::Sign { .. } => out[i] = Some(Err(Arc::new(e))),
                        }
                    }
                }
                Err(e) => {
                    // Not issued (before the commit point) or not known to be durable
                    // (after it: the next signer finishes it from the journal): no answer
                    // says "signed". A submission whose signing was not issued is filed
                    // instead, as a refused autosign is; the store's error goes with it.
                    let message = e.to_string();
                    let shared = Arc::new(e);
                    let not_issued = !matches!(*shared, Error::Unfinished { .. });
                    for (i, _, _) in &to_sign {
                        match &ops[*i] {
                            GroupOp::Submit { .. } if not_issued => {
                                to_file.push((*i, Some(message.clone())))
                            }
                            _ => out[*i] = Some(Err(shared.clone())),
                        }
                    }
                    if not_issued {
                        store_failure = Some(shared);
                    }
                }
            }
        }
        if !to_file.is_empty() {
            let filed = (|| {
                store.ensure_dirs()?;
                let dir = store.requests_dir()?;
                let spec = store.public_spec();
                let staged = to_file
                    .iter()
                    .map(|(i, _)| match &ops[*i] {
                        GroupOp::Submit { name, req, .. } => {
                            dir.stage_unsynced(&layout::pem(name), req.pem.as_bytes(), spec)
                        }
                        // Only submissions are filed.
                        GroupOp::Sign { .. } => Err(Error::Unsafe {
                            path: store.shown(layout::REQUESTS),
                            reason: "a signing cannot be filed".into(),
                        }),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                fsutil::sync_staged(&staged.iter().collect::<Vec<_>>())?;
                let mut placed = Vec::new();
                let result = staged
                    .into_iter()
                    .try_for_each(|s| {
                        let target = s.target().to_owned();
                        s.commit().map(|()| placed.push(target))
                    })
                    .and_then(|()| dir.sync());
                if result.is_err() {
                    // All are refused, so none may stay filed: those already in place go
                    // again (one that cannot be taken back stays, and a retry says so).
                    for name in &placed {
                        let _ = dir.remove_if_present(name);
                    }
                    let _ = dir.sync();
                }
                result
            })();
            match filed {
                Ok(()) => {
                    for (i, why) in to_file {
                        let failed = why.is_some() && store_failure.is_some();
                        out[i] = Some(Ok(GroupDone::Queued {
                            autosign_refused: why,
                            store_error: store_failure.clone().filter(|_| failed),
                        }));
                    }
                }
                Err(e) => {
                    let e = Arc::new(e);
                    for (i, _) in to_file {
                        out[i] = Some(Err(e.clone()));
                    }
                }
            }
        }
        out.into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    Err(Arc::new(Error::Unsafe {
                        path: store.shown(layout::REQUESTS),
                        reason: "an op of the group was left without a result".into(),
                    }))
                })
            })
            .collect()
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
        if batch.is_empty() {
            return Ok((Vec::new(), refused));
        }
        crate::check_new_names(self.store, batch.iter().map(|(s, _)| &s.name))?;
        let store = self.store;
        // `i` is below `batch.len()`, the count given: in range.
        let (signed, failed) = self.sign_requests_each(batch.len(), |i, serial| {
            let (spec, req) = &batch[i];
            ca.sign_request(spec, req, serial, now)
                .map_err(|source| Error::Pki {
                    path: store.signed_shown(&spec.name),
                    source,
                })
        })?;
        // One that cannot be signed holds up no other: it stays queued, reported.
        refused.extend(
            failed
                .into_iter()
                .map(|(i, e)| (batch[i].0.name.clone(), e)),
        );
        Ok((signed.into_iter().map(|(_, c)| c).collect(), refused))
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
