//! The fleet audit: walk collected (or mounted) ssl directories, recognise certificates, keys,
//! CSRs and CRLs by content, group them by node, and apply the rules.
//!
//! Three passes: the walk (sequential, cheap: directory entries only), the scan (parallel: read,
//! parse and judge each file on its own), and the cross-file rules (sequential over what the
//! scan kept: a key against the certificate beside it, one serial on two certificates).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use clusterca_pki::inspect::{self, CertInfo, Object};
use clusterca_pki::{AltName, Rule, Severity};
use rayon::prelude::*;
use serde::Serialize;
use time::OffsetDateTime;

use crate::{carries, Error};

/// `ELOOP` on Linux: too many levels of symbolic links.
const ELOOP: i32 = 40;

/// Files larger than this are not certificates, keys or CRLs of a node; they are skipped.
const MAX_FILE: u64 = 16 << 20;

/// Puppet's ssldir subdirectories: a file in one belongs to the ssldir above it.
const SSLDIR_PARTS: [&str; 6] = [
    "certs",
    "private_keys",
    "public_keys",
    "certificate_requests",
    "private",
    "ca",
];

/// File name endings that promise PKI content: such a file that does not parse is a finding.
const PKI_EXTENSIONS: [&str; 8] = ["pem", "crt", "cer", "der", "key", "csr", "crl", "p8"];

/// What to audit against.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// Names every node certificate must carry in its subjectAltNames.
    pub expect_names: Vec<AltName>,
    /// The CA bundle (DER certificates) every node certificate must be issued by; empty: not
    /// checked.
    pub ca: Vec<Vec<u8>>,
    /// CRLs (DER) to look serials up in; empty: not checked.
    pub crls: Vec<Vec<u8>>,
    /// Certificates expiring within this many days are a warning.
    pub warn_days: i64,
    /// Follow symbolic links while walking.
    pub follow_links: bool,
    /// User ids allowed to own private keys; empty: not checked.
    pub key_owners: Vec<u32>,
    /// The time to judge expiry at.
    pub now: OffsetDateTime,
    /// Derive each private key's public key (loading the key) instead of reading the one its
    /// file stores.
    pub derive_keys: bool,
}

/// One problem found, on one file of one node: the [`Finding`] of `check` and `probe`, with
/// its `node` set.
pub type AuditFinding = clusterca_pki::Finding;

/// What the audit saw and found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditReport {
    /// Files looked at (regular files; symlinks counted when followed).
    pub files: usize,
    /// Nodes (ssldirs or directories) holding at least one recognised object.
    pub nodes: usize,
    /// Certificates found.
    pub certificates: usize,
    /// Private keys found.
    pub keys: usize,
    /// Certificate requests found.
    pub csrs: usize,
    /// CRLs found.
    pub crls: usize,
    /// The findings, sorted by node, file and rule.
    pub findings: Vec<AuditFinding>,
}

/// A walked entry to scan.
struct Entry {
    path: PathBuf,
    node: PathBuf,
}

/// One certificate as the cross-file rules need it.
struct CertSeen {
    stem: String,
    spki: Vec<u8>,
    issuer_raw: Vec<u8>,
    serial: clusterca_pki::Serial,
    fingerprint: String,
    is_ca: bool,
}

/// One private key as the cross-file rules need it.
struct KeySeen {
    stem: String,
    spki: Vec<u8>,
}

/// A node's certificates, and its keys with the file each came from.
type NodeObjects<'a> = (Vec<&'a CertSeen>, Vec<(&'a Entry, &'a KeySeen)>);

/// The scan's result for one file.
#[derive(Default)]
struct Scanned {
    recognised: bool,
    certs: Vec<CertSeen>,
    keys: Vec<KeySeen>,
    csrs: usize,
    crls: usize,
    findings: Vec<(Rule, Severity, String)>,
}

/// The CA bundle and CRLs, prepared once.
struct Authority {
    /// (subject DER, SubjectPublicKeyInfo DER) of each CA certificate.
    cas: Vec<(Vec<u8>, Vec<u8>)>,
    /// (issuer DN, serial decimal) of every revoked certificate.
    revoked: HashSet<(String, String)>,
    /// The CRL number of each issuer's CRL given with `--crl`: a node's older CRL is stale.
    crl_numbers: std::collections::HashMap<String, u128>,
    /// Signature checks done, by certificate fingerprint (see [`Authority::issued`]).
    verified: std::sync::Mutex<HashMap<String, bool>>,
    /// Signature checks made (tests count them).
    #[cfg(test)]
    checks: AtomicUsize,
}

/// The node of a file: the ssldir above a Puppet ssldir subdirectory, else its directory.
fn node_of(path: &Path) -> PathBuf {
    let parent = path.parent().unwrap_or(Path::new("."));
    let in_part = parent
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| SSLDIR_PARTS.contains(&n));
    match (in_part, parent.parent()) {
        (true, Some(above)) if !above.as_os_str().is_empty() => above.to_path_buf(),
        _ => parent.to_path_buf(),
    }
}

/// The name a key and its certificate share: `certs/x.pem` and `private_keys/x.pem`,
/// `x.pem` and `x.key.pem`, `x.crt` and `x.key`.
fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for suffix in [
        ".key.pem",
        "-key.pem",
        "_key.pem",
        ".cert.pem",
        ".crt.pem",
        ".pem",
        ".crt",
        ".cer",
        ".der",
        ".key",
    ] {
        if let Some(s) = name.strip_suffix(suffix) {
            return s.to_owned();
        }
    }
    name
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// Walks `paths`: the files to scan, plus findings for what cannot be walked (symlink loops,
/// unreadable directories).
fn walk(paths: &[PathBuf], follow: bool) -> Result<(Vec<Entry>, Vec<AuditFinding>), Error> {
    let mut entries = Vec::new();
    let mut findings = Vec::new();
    for root in paths {
        std::fs::symlink_metadata(root).map_err(|source| Error::Io {
            path: root.clone(),
            source,
        })?;
        for item in walkdir::WalkDir::new(root)
            .follow_links(follow)
            .sort_by_file_name()
        {
            let item = match item {
                Ok(i) => i,
                Err(e) => {
                    let path = e
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.clone());
                    let eloop = e
                        .io_error()
                        .and_then(std::io::Error::raw_os_error)
                        .is_some_and(|c| c == ELOOP);
                    let (rule, message) = if let Some(above) = e.loop_ancestor() {
                        (
                            Rule::SymlinkLoop,
                            format!("a symbolic link loops back to {}", above.display()),
                        )
                    } else if eloop {
                        (
                            Rule::SymlinkLoop,
                            "a symbolic link that loops (ELOOP)".to_owned(),
                        )
                    } else {
                        (Rule::Unreadable, format!("cannot walk: {e}"))
                    };
                    findings.push(AuditFinding {
                        node: Some(display(&node_of(&path))),
                        subject: display(&path),
                        rule,
                        severity: Severity::Error,
                        message,
                    });
                    continue;
                }
            };
            let path = item.path().to_path_buf();
            let ft = item.file_type();
            if ft.is_file() {
                entries.push(Entry {
                    node: node_of(&path),
                    path,
                });
            } else if ft.is_symlink() {
                // Not followed (without --follow, or walkdir could not): say why it matters.
                let target = std::fs::metadata(&path);
                let finding = match target {
                    Err(e) if e.raw_os_error() == Some(ELOOP) => Some((
                        Rule::SymlinkLoop,
                        Severity::Error,
                        "a symbolic link that loops (ELOOP)".to_owned(),
                    )),
                    Err(_) => Some((
                        Rule::DanglingSymlink,
                        Severity::Warning,
                        "a symbolic link to nothing".to_owned(),
                    )),
                    Ok(_) => None,
                };
                if let Some((rule, severity, message)) = finding {
                    findings.push(AuditFinding {
                        node: Some(display(&node_of(&path))),
                        subject: display(&path),
                        rule,
                        severity,
                        message,
                    });
                }
            }
        }
    }
    Ok((entries, findings))
}

impl Authority {
    fn new(opts: &AuditOptions) -> Result<Self, Error> {
        let mut cas = Vec::new();
        for der in &opts.ca {
            let (_, subject) = inspect::raw_names(der).map_err(Error::Ca)?;
            let info = inspect::certificate_info(der, opts.now).map_err(Error::Ca)?;
            cas.push((subject, info.spki_der));
        }
        let mut revoked = HashSet::new();
        let mut crl_numbers = std::collections::HashMap::new();
        for der in &opts.crls {
            if !cas.is_empty() {
                let mut signed = false;
                for (_, spki) in &cas {
                    signed |= inspect::crl_signed_by(der, spki).map_err(Error::Crl)?;
                }
                if !signed {
                    return Err(Error::Crl(clusterca_pki::Error::CaMismatch {
                        reason: "the CRL is not signed by any certificate of --ca".into(),
                    }));
                }
            }
            let info = inspect::crl_info(der).map_err(Error::Crl)?;
            if let Some(n) = info.crl_number.as_deref().and_then(|n| n.parse().ok()) {
                crl_numbers.insert(info.issuer.clone(), n);
            }
            for r in info.revoked {
                revoked.insert((info.issuer.clone(), r.serial_decimal));
            }
        }
        Ok(Authority {
            verified: Default::default(),
            #[cfg(test)]
            checks: AtomicUsize::new(0),
            cas,
            revoked,
            crl_numbers,
        })
    }

    /// Whether a CA of the bundle has this issuer name.
    fn named_issuer(&self, issuer_raw: &[u8]) -> bool {
        self.cas
            .iter()
            .any(|(subject, _)| subject.as_slice() == issuer_raw)
    }

    /// Whether a CA of the bundle issued `der` (issuer = its subject, signed by its key). The
    /// answer is kept by the certificate's fingerprint: a certificate copied to every member
    /// of a cluster is verified once, not once a copy.
    fn issued(&self, der: &[u8], fingerprint: &str, issuer_raw: &[u8]) -> bool {
        let cached = self
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(fingerprint)
            .copied();
        if let Some(known) = cached {
            return known;
        }
        #[cfg(test)]
        self.checks.fetch_add(1, Ordering::Relaxed);
        let issued = self.cas.iter().any(|(subject, spki)| {
            subject.as_slice() == issuer_raw && inspect::signed_by(der, spki).unwrap_or(false)
        });
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(fingerprint.to_owned(), issued);
        issued
    }
}

/// The rules that judge one certificate on its own.
fn judge_cert(
    c: &CertInfo,
    der: &[u8],
    opts: &AuditOptions,
    auth: &Authority,
    out: &mut Vec<(Rule, Severity, String)>,
) {
    let is_ca = c.basic_constraints.as_ref().is_some_and(|b| b.ca);
    let sha1 = c.signature_algorithm.to_ascii_lowercase().contains("sha1");
    if !is_ca {
        for name in &opts.expect_names {
            if !carries(c, name) {
                out.push((
                    Rule::NameMissing,
                    Severity::Error,
                    format!(
                        "{} does not carry {name} (its alt names: {})",
                        c.subject,
                        if c.subject_alt_names.is_empty() {
                            "none".to_owned()
                        } else {
                            c.subject_alt_names.join(", ")
                        }
                    ),
                ));
            }
        }
        // A SHA-1 signature cannot be checked (ring refuses SHA-1): it is reported as such
        // below, not as a foreign certificate, when the issuer name is the CA's.
        let unverifiable = sha1 && auth.named_issuer(&c.issuer_raw);
        if !auth.cas.is_empty() && !unverifiable && !auth.issued(der, &c.fingerprint, &c.issuer_raw)
        {
            out.push((
                Rule::ForeignIssuer,
                Severity::Error,
                format!(
                    "{} was not issued by the given CA (issuer {})",
                    c.subject, c.issuer
                ),
            ));
        }
        if auth
            .revoked
            .contains(&(c.issuer.clone(), c.serial_decimal.clone()))
        {
            out.push((
                Rule::Revoked,
                Severity::Error,
                format!("serial {} ({}) is on the CRL", c.serial_number, c.subject),
            ));
        }
    }
    let days = c.seconds_left.div_euclid(86_400);
    if c.seconds_left <= 0 {
        out.push((
            Rule::Expired,
            Severity::Error,
            format!("{} expired on {}", c.subject, c.not_after),
        ));
    } else if days < opts.warn_days {
        out.push((
            Rule::Expiring,
            Severity::Warning,
            format!(
                "{} expires on {} ({days} days left)",
                c.subject, c.not_after
            ),
        ));
    }
    if c.public_key.algorithm == "RSA" && c.public_key.bits < 2048 {
        out.push((
            Rule::WeakKey,
            Severity::Error,
            format!(
                "{} has an RSA key of {} bits (at least 2048)",
                c.subject, c.public_key.bits
            ),
        ));
    }
    if c.issuer_raw != c.subject_raw && sha1 {
        out.push((
            Rule::Sha1Signature,
            Severity::Error,
            format!("{} is signed with {}", c.subject, c.signature_algorithm),
        ));
    }
}

/// The rules for a CRL found on a node: past its nextUpdate (clients refuse it) is an error;
/// one that reaches its nextUpdate within `--warn-days`, or older than the CA's own CRL given
/// with `--crl` (a lower CRL number: revocations since are missing), is stale.
fn judge_crl(
    c: &inspect::CrlInfo,
    opts: &AuditOptions,
    auth: &Authority,
    out: &mut Vec<(Rule, Severity, String)>,
) {
    if let Some(next) = c.next_update_time {
        let left = (next - opts.now).whole_seconds();
        if left <= 0 {
            out.push((
                Rule::CrlExpired,
                Severity::Error,
                format!(
                    "the CRL of {} expired at {}: clients that check it refuse every certificate",
                    c.issuer,
                    c.next_update.as_deref().unwrap_or_default()
                ),
            ));
            return;
        }
        if left.div_euclid(86_400) < opts.warn_days {
            out.push((
                Rule::CrlStale,
                Severity::Warning,
                format!(
                    "the CRL of {} reaches its nextUpdate on {} ({} days left)",
                    c.issuer,
                    c.next_update.as_deref().unwrap_or_default(),
                    left.div_euclid(86_400)
                ),
            ));
        }
    }
    let number: Option<u128> = c.crl_number.as_deref().and_then(|n| n.parse().ok());
    if let (Some(have), Some(&current)) = (number, auth.crl_numbers.get(&c.issuer)) {
        if have < current {
            out.push((
                Rule::CrlStale,
                Severity::Warning,
                format!(
                    "the CRL of {} is number {have}; the CA's (--crl) is number {current}: revocations since are missing here",
                    c.issuer
                ),
            ));
        }
    }
}

fn scan_file(entry: &Entry, opts: &AuditOptions, auth: &Authority) -> Scanned {
    let mut s = Scanned::default();
    let path = &entry.path;
    // One open: the mode and owner from the open file, then its bytes.
    let read = std::fs::File::open(path).and_then(|mut f| {
        let meta = f.metadata()?;
        let mut bytes = Vec::new();
        if meta.len() <= MAX_FILE {
            std::io::Read::read_to_end(&mut f, &mut bytes)?;
        }
        Ok((meta, bytes))
    });
    let (meta, bytes) = match read {
        Ok(r) => r,
        Err(e) => {
            s.findings.push((
                Rule::Unreadable,
                Severity::Error,
                format!("cannot read: {e}"),
            ));
            return s;
        }
    };
    if meta.len() > MAX_FILE {
        return s;
    }
    let promised = inspect::looks_like_pem(&bytes)
        || path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| PKI_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    // A key is matched by the public key its file stores (derived only where it stores none,
    // or with --check-keys).
    let public = if opts.derive_keys {
        inspect::KeyPublic::Derive
    } else {
        inspect::KeyPublic::Stored
    };
    let objects = match inspect::parse_with_der_keys(&bytes, opts.now, public) {
        Ok(o) => o,
        Err(e) => {
            if promised {
                s.findings
                    .push((Rule::Unparseable, Severity::Error, e.to_string()));
            }
            return s;
        }
    };
    s.recognised = true;
    let stem = stem(path);
    for (object, der) in objects {
        match object {
            Object::Certificate(c) => {
                judge_cert(&c, &der, opts, auth, &mut s.findings);
                s.certs.push(CertSeen {
                    stem: stem.clone(),
                    spki: c.spki_der.clone(),
                    issuer_raw: c.issuer_raw.clone(),
                    serial: c.serial_number.clone(),
                    fingerprint: c.fingerprint.clone(),
                    is_ca: c.basic_constraints.as_ref().is_some_and(|b| b.ca),
                });
            }
            Object::PrivateKey(k) => {
                let mode = meta.mode() & 0o7777;
                if mode & 0o027 != 0 {
                    s.findings.push((
                        Rule::KeyReadable,
                        Severity::Error,
                        format!(
                            "private key mode {mode:04o}: {} (Puppet's keys are 0640 at most)",
                            if mode & 0o007 != 0 {
                                "readable by others"
                            } else {
                                "writable by the group"
                            }
                        ),
                    ));
                }
                if !opts.key_owners.is_empty() && !opts.key_owners.contains(&meta.uid()) {
                    s.findings.push((
                        Rule::KeyOwner,
                        Severity::Error,
                        format!(
                            "private key owned by uid {}, not an expected owner",
                            meta.uid()
                        ),
                    ));
                }
                if k.public_key.algorithm == "RSA" && k.public_key.bits < 2048 {
                    s.findings.push((
                        Rule::WeakKey,
                        Severity::Error,
                        format!(
                            "RSA private key of {} bits (at least 2048)",
                            k.public_key.bits
                        ),
                    ));
                }
                s.keys.push(KeySeen {
                    stem: stem.clone(),
                    spki: k.public_key.spki_der.clone(),
                });
            }
            Object::Csr(_) => s.csrs += 1,
            Object::Crl(c) => {
                judge_crl(&c, opts, auth, &mut s.findings);
                s.crls += 1;
            }
            _ => {}
        }
    }
    s
}

/// Audits the files under `paths`. `progress` is called now and then with (files scanned,
/// files to scan). Fails only when a path does not exist or `--ca`/`--crl` are unusable;
/// everything wrong with the fleet itself is a finding.
pub fn audit(
    paths: &[PathBuf],
    opts: &AuditOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<AuditReport, Error> {
    let auth = Authority::new(opts)?;
    let (entries, mut findings) = walk(paths, opts.follow_links)?;
    let total = entries.len();
    let done = AtomicUsize::new(0);
    progress(0, total);
    let scanned: Vec<Scanned> = entries
        .par_iter()
        .map(|e| {
            let s = scan_file(e, opts, &auth);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if n % 1024 == 0 || n == total {
                progress(n, total);
            }
            s
        })
        .collect();

    let mut report = AuditReport {
        files: total,
        ..AuditReport::default()
    };
    let mut nodes: BTreeMap<&Path, NodeObjects<'_>> = BTreeMap::new();
    let mut serials: HashMap<(&[u8], &clusterca_pki::Serial), (&str, &Path)> = HashMap::new();
    for (entry, s) in entries.iter().zip(&scanned) {
        let node = display(&entry.node);
        for (rule, severity, message) in &s.findings {
            findings.push(AuditFinding {
                node: Some(node.clone()),
                subject: display(&entry.path),
                rule: *rule,
                severity: *severity,
                message: message.clone(),
            });
        }
        if !s.recognised {
            continue;
        }
        report.certificates += s.certs.len();
        report.keys += s.keys.len();
        report.csrs += s.csrs;
        report.crls += s.crls;
        let slot = nodes.entry(&entry.node).or_default();
        slot.0.extend(s.certs.iter());
        slot.1.extend(s.keys.iter().map(|k| (entry, k)));
        for c in &s.certs {
            let key = (c.issuer_raw.as_slice(), &c.serial);
            match serials.get(&key) {
                Some((fingerprint, first)) if *fingerprint != c.fingerprint => {
                    findings.push(AuditFinding {
                        node: Some(node.clone()),
                        subject: display(&entry.path),
                        rule: Rule::DuplicateSerial,
                        severity: Severity::Error,
                        message: format!(
                            "serial {} of this issuer is also on a different certificate, {}",
                            c.serial,
                            first.display()
                        ),
                    });
                }
                Some(_) => {}
                None => {
                    serials.insert(key, (c.fingerprint.as_str(), entry.path.as_path()));
                }
            }
        }
    }
    report.nodes = nodes.len();
    for (node, (certs, keys)) in &nodes {
        let leaves: Vec<&&CertSeen> = certs.iter().filter(|c| !c.is_ca).collect();
        for (entry, key) in keys {
            let beside = leaves
                .iter()
                .find(|c| c.stem == key.stem)
                .or_else(|| (leaves.len() == 1).then(|| &leaves[0]));
            if let Some(cert) = beside {
                if cert.spki != key.spki {
                    findings.push(AuditFinding {
                        node: Some(display(node)),
                        subject: display(&entry.path),
                        rule: Rule::KeyMismatch,
                        severity: Severity::Error,
                        message: format!(
                            "this private key does not belong to the certificate beside it ({})",
                            cert.stem
                        ),
                    });
                }
            }
        }
    }
    findings.sort_by(|a, b| (&a.node, &a.subject, a.rule).cmp(&(&b.node, &b.subject, b.rule)));
    report.findings = findings;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_ssldirs_or_directories() {
        assert_eq!(
            node_of(Path::new("fleet/web1/ssl/certs/web1.pem")),
            Path::new("fleet/web1/ssl")
        );
        assert_eq!(
            node_of(Path::new("fleet/web1/ssl/private_keys/web1.pem")),
            Path::new("fleet/web1/ssl")
        );
        assert_eq!(
            node_of(Path::new("fleet/web1/ssl/crl.pem")),
            Path::new("fleet/web1/ssl")
        );
        assert_eq!(node_of(Path::new("pki/web1.pem")), Path::new("pki"));
    }

    #[test]
    fn a_certificate_copied_to_every_member_is_verified_once() {
        use clusterca_pki::{CaSpec, CertificateAuthority, KeyType, LeafSpec, PrivateKey, Ttl};
        let now = time::OffsetDateTime::now_utc();
        let spec = CaSpec {
            common_name: "Test CA".into(),
            ttl: Ttl::from_secs(86_400 * 30),
        };
        let ca_key = PrivateKey::generate(KeyType::EcP256).unwrap();
        let ca = CertificateAuthority::create(&spec, ca_key, now).unwrap();
        let key = PrivateKey::generate(KeyType::EcP256).unwrap();
        let spec = LeafSpec::new(
            "puppet.example.net".parse().unwrap(),
            [],
            Ttl::from_secs(86_400),
        );
        let cert = ca.issue(&spec, &key, 2, now).unwrap();
        let other = PrivateKey::generate(KeyType::EcP256).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        for member in 0..12 {
            let dir = tmp.path().join(format!("m{member}"));
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("puppet.pem"), &cert.pem).unwrap();
            // The last member holds a key that is not the certificate's.
            let k = if member == 11 { &other } else { &key };
            std::fs::write(dir.join("puppet.key.pem"), k.to_pem()).unwrap();
            std::fs::set_permissions(
                dir.join("puppet.key.pem"),
                std::os::unix::fs::PermissionsExt::from_mode(0o600),
            )
            .unwrap();
        }
        let opts = AuditOptions {
            expect_names: Vec::new(),
            ca: clusterca_pki::inspect::certificates(ca.chain_pem().as_bytes()).unwrap(),
            crls: Vec::new(),
            warn_days: 0,
            follow_links: false,
            key_owners: Vec::new(),
            now,
            derive_keys: false,
        };
        let auth = Authority::new(&opts).unwrap();
        let (entries, _) = walk(&[tmp.path().to_owned()], false).unwrap();
        let scanned: Vec<Scanned> = entries.iter().map(|e| scan_file(e, &opts, &auth)).collect();
        assert_eq!(scanned.iter().map(|s| s.certs.len()).sum::<usize>(), 12);
        assert_eq!(
            auth.checks.load(Ordering::Relaxed),
            1,
            "one check for 12 copies"
        );
        let report = audit(&[tmp.path().to_owned()], &opts, &|_, _| {}).unwrap();
        let rules: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.rule, f.node.clone().unwrap_or_default()))
            .collect();
        assert_eq!(rules.len(), 1, "{rules:?}");
        assert_eq!(rules[0].0, "key-mismatch");
        assert!(rules[0].1.ends_with("m11"), "{rules:?}");
    }

    #[test]
    fn keys_pair_with_certificates_by_stem() {
        for (key, cert) in [
            ("private_keys/a.example.net.pem", "certs/a.example.net.pem"),
            ("a.example.net.key.pem", "a.example.net.pem"),
            ("tls/a.key", "tls/a.crt"),
        ] {
            assert_eq!(stem(Path::new(key)), stem(Path::new(cert)), "{key}");
        }
    }
}
