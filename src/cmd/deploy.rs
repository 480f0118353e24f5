//! `clusterca install`, `bundle` and `push`: one install plan, carried out here, rendered as a
//! script, or run over ssh on many hosts.

use std::io::Write;
use std::path::{Path, PathBuf};

use clusterca_deploy::push::{HostJob, HostStatus};
use clusterca_deploy::{InstallPlan, Layout, Ownership, Sources};
use clusterca_pki::CertName;
use clusterca_store::fsutil::{self, Dir};
use serde::Serialize;

use crate::cli::{BundleArgs, Format, Global, InstallArgs, InstallOptions, LayoutKind, PushArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Kind, Outcome};

impl From<clusterca_deploy::Error> for Failure {
    fn from(e: clusterca_deploy::Error) -> Self {
        use clusterca_deploy::Error as E;
        let kind = match &e {
            E::Io { .. } | E::Store(_) | E::Restorecon(_) => Kind::System,
            _ => Kind::Input,
        };
        Failure {
            kind,
            message: e.to_string(),
        }
    }
}

fn parse_mode(flag: &str, text: &str) -> Result<u32, Failure> {
    u32::from_str_radix(text.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| {
            Failure::input(format!(
                "invalid {flag} {text:?}: expected an octal mode such as 0640"
            ))
        })
}

fn need(path: &Option<PathBuf>, flag: &str, layout: &str) -> Result<PathBuf, Failure> {
    path.clone()
        .ok_or_else(|| Failure::input(format!("the {layout} layout needs {flag}")))
}

/// The layout the options describe; paths of other layouts are refused, not ignored.
fn layout(o: &InstallOptions) -> Result<Layout, Failure> {
    let stray = |flags: &[(&str, bool)], layout: &str| -> Result<(), Failure> {
        match flags.iter().find(|(_, set)| *set) {
            Some((flag, _)) => Err(Failure::input(format!(
                "{flag} does not apply to the {layout} layout (see --layout)"
            ))),
            None => Ok(()),
        }
    };
    let files_flags = [
        ("--cert", o.cert.is_some()),
        ("--key", o.key.is_some()),
        ("--ca", o.ca.is_some()),
        ("--crl", o.crl.is_some()),
    ];
    match o.layout {
        LayoutKind::Puppet => {
            stray(&files_flags, "puppet")?;
            stray(&[("--pem", o.pem.is_some())], "puppet")?;
            Ok(Layout::Puppet {
                ssldir: need(&o.ssldir, "--ssldir", "puppet")?,
            })
        }
        LayoutKind::Files => {
            stray(
                &[("--ssldir", o.ssldir.is_some()), ("--pem", o.pem.is_some())],
                "files",
            )?;
            if files_flags.iter().all(|(_, set)| !set) {
                return Err(Failure::input(
                    "the files layout needs at least one of --cert, --key, --ca, --crl",
                ));
            }
            Ok(Layout::Files {
                cert: o.cert.clone(),
                key: o.key.clone(),
                ca: o.ca.clone(),
                crl: o.crl.clone(),
                mode: parse_mode("--mode", &o.mode)?,
                key_mode: parse_mode("--key-mode", &o.key_mode)?,
            })
        }
        LayoutKind::Haproxy => {
            stray(&files_flags, "haproxy")?;
            if o.cert_only {
                return Err(Failure::input(
                    "--cert-only does not apply to the haproxy layout: its one file holds the key too",
                ));
            }
            stray(&[("--ssldir", o.ssldir.is_some())], "haproxy")?;
            Ok(Layout::Haproxy {
                pem: need(&o.pem, "--pem", "haproxy")?,
            })
        }
    }
}

/// NAME's PEMs: certificate and key from --from (the certificate else from signed/), CA
/// bundle and CRL from the CA directory.
fn sources(g: &Global, o: &InstallOptions) -> Result<Sources, Failure> {
    let name: CertName = o.name.parse()?;
    let cert_path = o.from.join(format!("{name}.pem"));
    let key_path = o.from.join(format!("{name}.key.pem"));
    let store = clusterca_store::Store::open(&g.dir)?;
    // --from opened once; its files read without following a symlink (another user who can
    // write there must not get root to read, and install, a file it cannot read itself).
    let from = Dir::open(&o.from)?;
    let read_from = |file: &str| match from.read_bounded(file, fsutil::MAX_PEM) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(Failure::from(e)),
    };
    let cert = match read_from(&format!("{name}.pem"))? {
        Some(b) => b,
        None => match store.read_signed(&name)? {
            Some(b) => b,
            None => {
                return Err(Failure::input(format!(
                    "no certificate for {name}: neither {} nor {}",
                    cert_path.display(),
                    store.signed_shown(&name).display()
                )))
            }
        },
    };
    let key = if o.cert_only {
        None
    } else {
        let Some(key) = read_from(&format!("{name}.key.pem"))? else {
            return Err(Failure::input(format!(
                "cannot read {}: No such file or directory (a certificate signed from the node's CSR: --cert-only)",
                key_path.display()
            )));
        };
        Some(key)
    };
    let ca = store.read_ca_bundle()?;
    // A CA directory without a CRL installs none; one that cannot be read stops the install.
    let crl = match store.read_crl() {
        Ok(b) if !b.iter().all(u8::is_ascii_whitespace) => Some(b),
        Ok(_) => None,
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e.into()),
    };
    // Refuse garbage before it is installed anywhere.
    let ca_path = store.shown(clusterca_store::layout::CA_CRT);
    let mut cert_spki = None;
    for (what, path, bytes) in [
        ("certificate", cert_path.as_path(), &cert),
        ("CA bundle", ca_path.as_path(), &ca),
    ] {
        let certs = clusterca_pki::inspect::certificates(bytes)
            .map_err(|e| Failure::input(format!("{} ({what}): {e}", path.display())))?;
        let Some(first) = certs.first() else {
            return Err(Failure::input(format!(
                "{}: no certificate in it",
                path.display()
            )));
        };
        if what == "certificate" {
            cert_spki =
                clusterca_pki::inspect::certificate_info(first, time::OffsetDateTime::now_utc())
                    .ok()
                    .map(|i| i.spki_der);
        }
    }
    if let Some(key) = &key {
        let private = clusterca_pki::PrivateKey::from_bytes(key)
            .map_err(|e| Failure::input(format!("{}: {e}", key_path.display())))?;
        // Only the certificate's own key is installed beside it.
        if cert_spki.as_deref() != Some(private.spki_der().as_slice()) {
            return Err(Failure::input(format!(
                "{}: not the key of {name}'s certificate; refusing to install a mismatched pair",
                key_path.display()
            )));
        }
    }
    Ok(Sources {
        name: name.to_string(),
        cert,
        key,
        ca,
        crl,
    })
}

fn plan(g: &Global, o: &InstallOptions) -> Result<InstallPlan, Failure> {
    let layout = layout(o)?;
    let src = sources(g, o)?;
    let owner = Ownership {
        user: o.owner.clone(),
        group: o.group.clone(),
    };
    Ok(InstallPlan::new(&layout, &src, &owner, o.backup))
}

pub fn install(g: &Global, args: &InstallArgs) -> Result<Outcome, Failure> {
    let plan = plan(g, &args.opts)?;
    let report = clusterca_deploy::apply(&plan, args.dry_run)?;
    output::emit(
        g.format,
        &InstallOut {
            report: &report,
            name: &plan.name,
        },
    )?;
    Ok(Outcome::Clean)
}

pub fn bundle(g: &Global, args: &BundleArgs) -> Result<Outcome, Failure> {
    if g.format == Format::Json {
        return Err(Failure::input(
            "bundle writes a sh script, not a report: --format json does not apply (install --dry-run --format json describes the same install)",
        ));
    }
    let plan = plan(g, &args.opts)?;
    let script = clusterca_deploy::sh::render(&plan, args.then.as_deref());
    std::io::stdout().lock().write_all(script.as_bytes())?;
    Ok(Outcome::Clean)
}

/// One line of --hosts-file: `HOST [key=value]...`, the pairs overriding install options.
fn host_line(
    line: &str,
    base: &InstallOptions,
    file: &Path,
    n: usize,
) -> Result<(String, String, InstallOptions), Failure> {
    let mut words = line.split_whitespace();
    let host = words.next().unwrap_or_default().to_owned();
    let mut opts = base.clone();
    let mut label = host.clone();
    for w in words {
        let (k, v) = w.split_once('=').ok_or_else(|| {
            Failure::input(format!(
                "{}:{n}: expected key=value, found {w:?}",
                file.display()
            ))
        })?;
        let slot = match k {
            "ssldir" => &mut opts.ssldir,
            "pem" => &mut opts.pem,
            "cert" => &mut opts.cert,
            "key" => &mut opts.key,
            "ca" => &mut opts.ca,
            "crl" => &mut opts.crl,
            _ => {
                return Err(Failure::input(format!(
                    "{}:{n}: unknown key {k:?} (ssldir, pem, cert, key, ca, crl)",
                    file.display()
                )))
            }
        };
        *slot = Some(PathBuf::from(v));
        label.push_str(&format!(" {k}={v}"));
    }
    Ok((label, host, opts))
}

/// `--format json` output of `push`.
#[derive(Serialize)]
struct PushReport {
    hosts: Vec<clusterca_deploy::push::HostResult>,
    changed: usize,
    unchanged: usize,
    failed: usize,
}

pub fn push(g: &Global, args: &PushArgs) -> Result<Outcome, Failure> {
    let mut targets = Vec::new();
    for h in &args.hosts {
        targets.push((h.clone(), h.clone(), args.opts.clone()));
    }
    if let Some(file) = &args.hosts_file {
        let text = String::from_utf8(super::read_bounded_input(
            file,
            super::MAX_LIST,
            "a list of hosts",
        )?)
        .map_err(|_| Failure::input(format!("{}: not UTF-8 text", file.display())))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if !line.is_empty() {
                targets.push(host_line(line, &args.opts, file, i + 1)?);
            }
        }
    }
    if targets.is_empty() {
        return Err(Failure::input("no hosts: give --host or --hosts-file"));
    }
    // Every host's plan first: a bad option fails before any host is touched.
    let mut jobs = Vec::with_capacity(targets.len());
    for (label, destination, opts) in &targets {
        let plan = plan(g, opts)?;
        jobs.push(HostJob {
            label: label.clone(),
            destination: destination.clone(),
            script: clusterca_deploy::sh::render(&plan, args.then.as_deref()),
        });
    }
    let progress = output::Progress::new("push", "hosts");
    let results = clusterca_deploy::push::push(&jobs, &args.ssh_options, args.jobs, &|d, t| {
        progress.update(d, t)
    });
    progress.finish();
    let count = |s: HostStatus| results.iter().filter(|r| r.status == s).count();
    let report = PushReport {
        changed: count(HostStatus::Changed),
        unchanged: count(HostStatus::Unchanged),
        failed: count(HostStatus::Failed),
        hosts: results,
    };
    let outcome = if report.failed > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    };
    output::emit(g.format, &report)?;
    Ok(outcome)
}

/// What `install` reports: the library's report (JSON: the same), with its text.
#[derive(Serialize)]
#[serde(transparent)]
struct InstallOut<'a> {
    report: &'a clusterca_deploy::InstallReport,
    /// The certname, for the summary line.
    #[serde(skip)]
    name: &'a str,
}

impl output::Report for InstallOut<'_> {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let report = self.report;
        let names = |uid: u32, gid: u32| {
            let user = nix::unistd::User::from_uid(uid.into())
                .ok()
                .flatten()
                .map_or_else(|| uid.to_string(), |u| u.name);
            let group = nix::unistd::Group::from_gid(gid.into())
                .ok()
                .flatten()
                .map_or_else(|| gid.to_string(), |g| g.name);
            format!("{user}:{group}")
        };
        if report.dry_run {
            writeln!(
                out,
                "dry run: nothing written; this is what install would do"
            )?;
        }
        for a in &report.paths {
            writeln!(
                out,
                "{:<9}  {:04o}  {:<15}  {}  ({})",
                a.action,
                a.mode,
                names(a.uid, a.gid),
                sanitize(&a.path.display().to_string()),
                a.what
            )?;
            if let Some(b) = &a.backup {
                writeln!(
                    out,
                    "           old file kept as {}",
                    sanitize(&b.display().to_string())
                )?;
            }
        }
        if let Some(s) = &report.selinux {
            writeln!(out, "{s}")?;
        }
        let count = |act| report.paths.iter().filter(|a| a.action == act).count();
        use clusterca_deploy::Action;
        writeln!(
            out,
            "{}: {} created, {} replaced, {} fixed, {} unchanged",
            self.name,
            count(Action::Created),
            count(Action::Replaced),
            count(Action::Fixed),
            count(Action::Unchanged)
        )?;
        Ok(())
    }
}

impl output::Report for PushReport {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let report = self;
        let width = report
            .hosts
            .iter()
            .map(|r| r.host.len())
            .max()
            .unwrap_or(4)
            .max(4);
        if output::items() {
            writeln!(
                out,
                "{:<width$}  {:<9}  {:>7}  {:>9}  {:>6}",
                "HOST", "RESULT", "CHANGED", "UNCHANGED", "TIME"
            )?;
        }
        for r in report.hosts.iter().filter(|_| output::items()) {
            let status = match r.status {
                HostStatus::Changed => "changed".to_owned(),
                HostStatus::Unchanged => "unchanged".to_owned(),
                HostStatus::Failed => {
                    format!("failed: {}", r.reason.as_deref().unwrap_or("unknown"))
                }
            };
            if r.status == HostStatus::Failed {
                writeln!(
                    out,
                    "{:<width$}  {}",
                    sanitize(&r.host),
                    output::paint(&sanitize(&status), "error")
                )?;
            } else {
                writeln!(
                    out,
                    "{:<width$}  {:<9}  {:>7}  {:>9}  {:>5.1}s",
                    sanitize(&r.host),
                    status,
                    r.changed,
                    r.unchanged,
                    r.seconds
                )?;
            }
            // What --then printed there, under its host.
            for line in r.then_output.iter().flat_map(|t| t.lines()) {
                writeln!(out, "    | {}", sanitize(line))?;
            }
        }
        writeln!(
            out,
            "{}: {} changed, {} unchanged, {}",
            crate::output::count(report.hosts.len(), "host", "hosts"),
            report.changed,
            report.unchanged,
            if report.failed == 0 {
                "0 failed".to_owned()
            } else {
                output::paint(&format!("{} failed", report.failed), "error")
            }
        )?;
        Ok(())
    }
}
