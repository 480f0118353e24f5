//! `check`: is the CA directory consistent, and `repair`: fix what is safe to fix.
//!
//! Reads take no lock, so `check` runs beside a live signer (it may then see a batch half
//! recorded: run it again, or with `--repair`, which takes the lock). `repair` runs under the
//! store lock and only does what cannot lose information: truncate a torn last inventory line,
//! move `serial` past the highest serial in use, append inventory lines for certificates in
//! `signed/` that lack one, and remove temporary files left by a crash.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use clusterca_pki::inspect;
use clusterca_pki::{CertName, Finding, Rule, Severity};
use time::OffsetDateTime;

use crate::error::{quote, IoContext};
use crate::fsutil::Dir;
use crate::layout::{self, Kind};
use crate::{serial, Error, InventoryLine, Store};

/// What `check` looked at, beyond the findings: used by `repair`.
struct Scan {
    findings: Vec<Finding>,
    next_serial: Option<u64>,
    /// The least the `serial` file may hold: one past every serial recorded, at least 2.
    floor: u64,
    missing_lines: Vec<InventoryLine>,
    /// Temporary files left by a crash: their directory and name.
    temp_files: Vec<(Dir, String)>,
    /// Names in `requests/` of requests already signed.
    stale_requests: Vec<String>,
    /// `clusterca.signed-max` when it contradicts `signed/`.
    stale_cache: bool,
    /// The certificates of `signed/`, for the lifecycle findings.
    leaves: Vec<crate::expiry::Leaf>,
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

impl Store {
    /// Checks the CA directory; see the module documentation. Never changes anything.
    pub fn check(&self, now: OffsetDateTime) -> Result<Vec<Finding>, Error> {
        Ok(self.scan(now)?.findings)
    }

    /// [`Store::check`] and what expires within `warn` of `now` (the CA certificate, the
    /// CRL, each certificate), from one reading of every file.
    pub fn check_lifecycle(
        &self,
        now: OffsetDateTime,
        warn: time::Duration,
    ) -> Result<Vec<Finding>, Error> {
        let scan = self.scan(now)?;
        let mut f = scan.findings;
        f.extend(self.lifecycle_findings(now, warn, &scan.leaves)?);
        Ok(f)
    }

    /// Fixes what is safe to fix, under the store lock, then checks again under that same
    /// lock (so a signer waiting beside it cannot make the result stale). Returns what it
    /// did, one line per action, and the findings left.
    pub fn repair(
        &self,
        timeout: Duration,
        now: OffsetDateTime,
    ) -> Result<(Vec<String>, Vec<Finding>), Error> {
        self.repair_lifecycle(timeout, now, None)
    }

    /// [`Store::repair`], with the lifecycle findings of [`Store::check_lifecycle`] for
    /// `warn` in the findings left.
    pub fn repair_lifecycle(
        &self,
        timeout: Duration,
        now: OffsetDateTime,
        warn: Option<time::Duration>,
    ) -> Result<(Vec<String>, Vec<Finding>), Error> {
        let mut signer = self.lock(timeout)?;
        let journal = self.shown(crate::journal::JOURNAL_FILE);
        let mut done = match signer.recover() {
            Ok(done) => done,
            Err(Error::Corrupt { path, .. }) if path == journal => {
                vec![signer.quarantine_journal()?]
            }
            Err(e) => return Err(e),
        };
        // A step that fails after others changed something reports those with its error.
        match self.repair_steps(&mut done, now, warn) {
            Ok(findings) => {
                drop(signer);
                Ok((done, findings))
            }
            Err(source) if done.is_empty() => Err(source),
            Err(source) => Err(Error::PartlyRepaired {
                done,
                source: Box::new(source),
            }),
        }
    }

    /// The repairs after recovery, each said in `done`, then the check again; run under the
    /// lock [`Store::repair_lifecycle`] holds.
    fn repair_steps(
        &self,
        done: &mut Vec<String>,
        now: OffsetDateTime,
        warn: Option<time::Duration>,
    ) -> Result<Vec<Finding>, Error> {
        let scan = self.scan(now)?;
        let inventory = self.shown(layout::INVENTORY);
        let root = self.root();
        match crate::inventory::repair_tail(root, layout::INVENTORY, true)? {
            crate::inventory::TailFix::Truncate(at) => done.push(format!(
                "truncated the torn last line of {} (now {at} bytes)",
                display(&inventory)
            )),
            crate::inventory::TailFix::Newline => done.push(format!(
                "ended the last line of {} with its newline",
                display(&inventory)
            )),
            crate::inventory::TailFix::Whole => {}
        }
        for (dir, temp) in &scan.temp_files {
            if dir.remove_if_present(temp)? {
                done.push(format!(
                    "removed stale temporary file {}",
                    display(&dir.join(temp))
                ));
            }
        }
        if scan.stale_cache && root.remove_if_present(layout::SIGNED_MAX)? {
            done.push(format!(
                "removed the stale {} (the serial rule reads signed/ again)",
                crate::rule::SIGNED_MAX_FILE
            ));
        }
        if !scan.stale_requests.is_empty() {
            let requests = self.requests_dir()?;
            for request in &scan.stale_requests {
                if requests.remove_if_present(request)? {
                    done.push(format!(
                        "removed the already signed request {}",
                        display(&requests.join(request))
                    ));
                }
            }
            requests.sync()?;
        }
        if !scan.missing_lines.is_empty() {
            let lines: String = scan
                .missing_lines
                .iter()
                .map(InventoryLine::to_line)
                .collect();
            crate::inventory::append(root, layout::INVENTORY, lines.as_bytes())
                .map_err(|f| f.error)?;
            for l in &scan.missing_lines {
                done.push(format!(
                    "appended the missing inventory line for serial 0x{:04X} {}",
                    l.serial, l.subject
                ));
            }
        }
        // Behind the rule: raised. Unreadable, or past Puppet's limit (which neither clusterca
        // nor Puppet Server ever writes, so nothing between was handed out): rewritten.
        let rewrite = match scan.next_serial {
            Some(next) => next < scan.floor || next > serial::PUPPET_LIMIT,
            None => true,
        };
        if rewrite {
            let path = self.shown(layout::SERIAL);
            root.write_atomic(
                layout::SERIAL,
                serial::format(scan.floor).as_bytes(),
                self.public_spec(),
            )?;
            done.push(format!(
                "set {} to {} (the serial rule: past every serial recorded)",
                display(&path),
                serial::format(scan.floor)
            ));
        }
        self.tighten_modes(done)?;
        let after = self.scan(now)?;
        let mut findings = after.findings;
        if let Some(warn) = warn {
            findings.extend(self.lifecycle_findings(now, warn, &after.leaves)?);
        }
        Ok(findings)
    }

    fn scan(&self, now: OffsetDateTime) -> Result<Scan, Error> {
        let mut f = Vec::new();
        let mut temp_files = Vec::new();
        // Entries that are not what they must be are reported here and not read below.
        let unsafe_entries = self.check_layout(&mut f)?;

        // The CA itself.
        let ca = match self.load_ca() {
            Ok(ca) => Some(ca),
            Err(e) if failing_disk(&e) => return Err(e),
            Err(e) => {
                f.push(Finding::new(
                    display(&self.shown(layout::CA_CRT)),
                    Rule::CaUnusable,
                    Severity::Error,
                    e.to_string(),
                ));
                None
            }
        };
        let ca_spki = ca.as_ref().map(|c| c.spki_der());
        if let Some(ca) = &ca {
            if let Some(why) = self.puppet_cannot_sign(ca) {
                f.push(Finding::new(
                    display(&self.shown(layout::CA_KEY)),
                    Rule::PuppetCannotSign,
                    Severity::Info,
                    why,
                ));
            }
        }

        // serial
        let serial_path = self.shown(layout::SERIAL);
        let next_serial = match self.read_serial() {
            Ok(n) => Some(n),
            Err(e) if failing_disk(&e) => return Err(e),
            Err(e) => {
                f.push(Finding::new(
                    display(&serial_path),
                    Rule::SerialUnreadable,
                    Severity::Error,
                    e.to_string(),
                ));
                None
            }
        };

        // inventory.txt
        let inv_path = self.shown(layout::INVENTORY);
        let raw = match self.root().read_store_file(layout::INVENTORY) {
            _ if unsafe_entries.contains(&layout::INVENTORY) => Vec::new(),
            Ok(raw) => raw,
            // Reported by the layout check, not followed.
            Err(Error::Unsafe { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut by_serial: BTreeMap<u64, Vec<InventoryLine>> = BTreeMap::new();
        let text = String::from_utf8_lossy(&raw);
        let complete = raw.last().is_none_or(|&b| b == b'\n');
        let line_count = text.lines().count();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let last = i + 1 == line_count;
            match InventoryLine::parse(line) {
                Ok(l) if !last || complete => by_serial.entry(l.serial).or_default().push(l),
                Ok(l) => {
                    f.push(Finding::new(
                        format!("{}:{}", display(&inv_path), i + 1),
                        Rule::InventoryNoNewline,
                        Severity::Warning,
                        "the last line lacks its newline (a hand edit, or an append cut short inside the subject); `check --repair` ends it, or cuts it off when an interrupted batch left it",
                    ));
                    by_serial.entry(l.serial).or_default().push(l);
                }
                result => {
                    if last && !complete {
                        f.push(Finding::new(
                            format!("{}:{}", display(&inv_path), i + 1),
                            Rule::TornInventoryLine,
                            Severity::Error,
                            format!(
                                "the last line is cut off ({}); `check --repair` truncates it",
                                quote(line)
                            ),
                        ));
                    } else {
                        f.push(Finding::new(
                            format!("{}:{}", display(&inv_path), i + 1),
                            Rule::InventoryLine,
                            Severity::Error,
                            result.err().unwrap_or_default(),
                        ));
                    }
                }
            }
        }
        for (serial, lines) in &by_serial {
            if lines.len() > 1 {
                let subjects: Vec<&str> = lines.iter().map(|l| l.subject.as_str()).collect();
                f.push(Finding::new(
                    format!("serial 0x{serial:04X}"),
                    Rule::DuplicateSerial,
                    Severity::Error,
                    format!(
                        "inventory.txt records serial 0x{serial:04X} {} times ({})",
                        lines.len(),
                        subjects.join(", ")
                    ),
                ));
            }
        }

        // signed/ (its stamp first: the cache is compared only if nothing changed meanwhile)
        let stamp_before = self.signed_stamp();
        let signed_dir = match self.sub_if_present(layout::SIGNED) {
            Ok(d) => d,
            // Reported by the layout check, not followed.
            Err(Error::Unsafe { .. }) => None,
            Err(e) => return Err(e),
        };
        let mut signed_serials: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        let mut leaves = Vec::new();
        let mut missing_lines = Vec::new();
        let mut entries = match &signed_dir {
            Some(d) => d.names()?,
            None => Vec::new(),
        };
        entries.sort();
        // Each file read once, parsed once and its signature checked, in parallel; the
        // findings are then made in name order, as one pass would.
        let read: Vec<SignedEntry> = {
            use rayon::prelude::*;
            let stage = crate::progress::Stage::new("checking certificates", entries.len());
            entries
                .par_iter()
                .filter_map(|entry| signed_dir.as_ref().map(|dir| (entry, dir)))
                .map(|(entry, dir)| {
                    let read = read_signed_entry(dir, entry, ca_spki.as_deref());
                    stage.tick();
                    read
                })
                .collect::<Result<_, _>>()?
        };
        for entry in read {
            let Some(dir) = &signed_dir else { break };
            let (file, name, info, signed) = match entry {
                SignedEntry::Temp(file) => {
                    f.push(Finding::new(
                        display(&dir.join(&file)),
                        Rule::StaleTempFile,
                        Severity::Info,
                        "left by an interrupted write; `check --repair` removes it",
                    ));
                    temp_files.push((dir.clone(), file));
                    continue;
                }
                SignedEntry::Finding(path, rule, severity, message) => {
                    f.push(Finding::new(display(&path), rule, severity, message));
                    continue;
                }
                SignedEntry::Cert {
                    file,
                    name,
                    info,
                    signed,
                    extra,
                } => {
                    // What else the file holds is served with it (`GET certificate`).
                    if let Some(what) = extra {
                        f.push(Finding::new(
                            display(&dir.join(&file)),
                            Rule::ExtraContent,
                            Severity::Error,
                            what,
                        ));
                    }
                    (file, name, *info, signed)
                }
            };
            let path = dir.join(&file);
            let cn = info
                .subject_oneline
                .strip_prefix("/CN=")
                .unwrap_or(&info.subject_oneline);
            if cn != name.as_str() {
                f.push(Finding::new(
                    display(&path),
                    Rule::NameMismatch,
                    Severity::Error,
                    format!("filed as {name} but its subject is {}", info.subject),
                ));
            }
            if ca_spki.is_some() && signed != Some(true) {
                f.push(Finding::new(
                    display(&path),
                    Rule::ForeignCertificate,
                    Severity::Error,
                    format!("not signed by this CA (issuer {})", info.issuer),
                ));
            }
            let Ok(serial) = info.serial_decimal.parse::<u64>() else {
                f.push(Finding::new(
                    display(&path),
                    Rule::SerialTooLarge,
                    Severity::Error,
                    format!("serial 0x{} does not fit 64 bits", info.serial_hex),
                ));
                continue;
            };
            signed_serials
                .entry(serial)
                .or_default()
                .push(name.to_string());
            if let Some(not_after) = info.not_after_time {
                leaves.push(crate::expiry::Leaf {
                    name: name.clone(),
                    serial,
                    not_after,
                });
            }
            // (Not when the inventory was not read: it is reported as unsafe instead.)
            if !by_serial.contains_key(&serial) && !unsafe_entries.contains(&layout::INVENTORY) {
                f.push(Finding::new(
                    display(&path),
                    Rule::NotInInventory,
                    // Puppet's own `ca setup` and `ca generate --ca-client` leave such gaps.
                    Severity::Info,
                    format!(
                        "serial 0x{serial:04X} has no inventory line (normal after `puppetserver ca generate --ca-client`); `check --repair` appends it"
                    ),
                ));
                if let (Some(nb), Some(na)) = (info.not_before_time, info.not_after_time) {
                    missing_lines.push(InventoryLine {
                        serial,
                        not_before: nb,
                        not_after: na,
                        subject: info.subject_oneline.clone(),
                    });
                }
            }
        }
        // A renewed CA certificate (first in ca_crt.pem, issued under the CA's own name, the
        // bundle holding an earlier one of the same name) without its inventory line: what a
        // `renew --ca` interrupted after writing the bundle leaves.
        if !unsafe_entries.contains(&layout::INVENTORY) {
            if let Some(line) = self.renewed_ca_without_line(&by_serial, now) {
                f.push(Finding::new(
                    display(&self.shown(layout::CA_CRT)),
                    Rule::NotInInventory,
                    Severity::Info,
                    format!(
                        "the renewed CA certificate (serial 0x{:04X}) has no inventory line (an interrupted `renew --ca`); `check --repair` appends it",
                        line.serial
                    ),
                ));
                missing_lines.push(line);
            }
        }
        for (serial, names) in &signed_serials {
            if names.len() > 1 {
                f.push(Finding::new(
                    format!("serial 0x{serial:04X}"),
                    Rule::DuplicateSerial,
                    Severity::Error,
                    format!(
                        "signed/ holds {} certificates with serial 0x{serial:04X}: {}",
                        names.len(),
                        names.join(", ")
                    ),
                ));
            }
        }

        // Serial counter against the serial rule, and gaps.
        let recorded = serial::Recorded {
            inventory: by_serial.keys().copied().collect(),
            signed: signed_serials.keys().copied().collect(),
            crl: self.crl_serials().unwrap_or_default(),
            ca: self.ca_serials().unwrap_or_default().into_iter().collect(),
        };
        let floor = serial::next(0, recorded.highest());
        let stale_cache =
            self.check_signed_max(&mut f, stamp_before, &signed_serials, floor - 1)?;
        check_serial_counter(&mut f, &serial_path, next_serial, floor);
        check_beyond_limit(&mut f, &recorded);
        check_unissued_revocations(&mut f, &recorded);
        if let Some(next) = next_serial.filter(|_| !unsafe_entries.contains(&layout::INVENTORY)) {
            let used: BTreeSet<u64> = recorded
                .inventory
                .union(&recorded.signed)
                .copied()
                .collect();
            // Serial 1 is the CA's own (or unused, under a root): leaves start at 2.
            let gaps = gap_ranges(&used, serial::FIRST_LEAF, next.max(floor));
            if !gaps.is_empty() {
                f.push(Finding::new(display(&inv_path), Rule::SerialGap, Severity::Info,
                    format!("serials {} were reserved but never recorded (an interrupted issuance, or files from other tools); harmless", gaps.join(", "))));
            }
        }
        let stale_requests = self.check_requests(&mut f, now)?;
        self.journal_findings(&mut f)?;

        // Stale temporary files in the CA directory itself and in requests/.
        let mut dirs = vec![self.root().clone()];
        if let Ok(Some(requests)) = self.sub_if_present(layout::REQUESTS) {
            dirs.push(requests);
        }
        for dir in dirs {
            for entry in dir.names()? {
                let file = entry.to_string_lossy().into_owned();
                let regular = || dir.entry(&file).ok().flatten().is_some_and(|e| e.is_file());
                if file.starts_with('.') && file.contains(".tmp.") && regular() {
                    f.push(Finding::new(
                        display(&dir.join(&file)),
                        Rule::StaleTempFile,
                        Severity::Info,
                        "left by an interrupted write; `check --repair` removes it",
                    ));
                    temp_files.push((dir.clone(), file));
                }
            }
        }

        if !unsafe_entries.contains(&layout::CA_CRL) {
            self.check_crl(&mut f, ca_spki.as_deref(), now)?;
        }
        self.check_modes(&mut f)?;
        Ok(Scan {
            findings: f,
            next_serial,
            floor,
            missing_lines,
            temp_files,
            stale_requests,
            stale_cache,
            leaves,
        })
    }

    /// The inventory line a renewed CA certificate lacks (see `scan`), if it does.
    fn renewed_ca_without_line<V>(
        &self,
        by_serial: &BTreeMap<u64, V>,
        now: OffsetDateTime,
    ) -> Option<InventoryLine> {
        let bundle = self.read_ca_bundle().ok()?;
        let certs = inspect::certificates(&bundle).ok()?;
        let first = certs.first()?;
        let (issuer, subject) = inspect::raw_names(first).ok()?;
        let renewed = issuer == subject
            && certs
                .iter()
                .skip(1)
                .any(|c| inspect::raw_names(c).is_ok_and(|(_, s)| s == subject));
        let info = inspect::certificate_info(first, now).ok()?;
        let serial = info.serial_decimal.parse::<u64>().ok()?;
        if !renewed || by_serial.contains_key(&serial) {
            return None;
        }
        Some(InventoryLine {
            serial,
            not_before: info.not_before_time?,
            not_after: info.not_after_time?,
            subject: info.subject_oneline,
        })
    }

    fn check_crl(
        &self,
        f: &mut Vec<Finding>,
        ca_spki: Option<&[u8]>,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        let path = self.shown(layout::CA_CRL);
        let bytes = match self.read_crl() {
            Ok(b) => b,
            // Reported by the layout check, not followed.
            Err(Error::Unsafe { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let first = match inspect::crls(&bytes) {
            Ok(crls) if !crls.is_empty() => crls.into_iter().next().unwrap_or_default(),
            Ok(_) => {
                f.push(Finding::new(
                    display(&path),
                    Rule::CrlUnparseable,
                    Severity::Error,
                    "no X509 CRL block",
                ));
                return Ok(());
            }
            Err(e) => {
                f.push(Finding::new(
                    display(&path),
                    Rule::CrlUnparseable,
                    Severity::Error,
                    e.to_string(),
                ));
                return Ok(());
            }
        };
        match inspect::crl_info(&first) {
            Ok(info) => {
                if info.next_update_time.is_some_and(|t| t <= now) {
                    f.push(Finding::new(
                        display(&path),
                        Rule::CrlExpired,
                        Severity::Error,
                        format!(
                            "nextUpdate {} has passed; clients refuse an expired CRL",
                            info.next_update.unwrap_or_default()
                        ),
                    ));
                }
            }
            Err(e) => f.push(Finding::new(
                display(&path),
                Rule::CrlUnparseable,
                Severity::Error,
                e.to_string(),
            )),
        }
        if let Some(spki) = ca_spki {
            if !inspect::crl_signed_by(&first, spki).unwrap_or(false) {
                f.push(Finding::new(
                    display(&path),
                    Rule::CrlSignature,
                    Severity::Error,
                    "the CRL is not signed by this CA",
                ));
            }
        }
        Ok(())
    }

    /// `clusterca.signed-max` against what `signed/` holds, when its stamp is the directory's
    /// (and was before and after the scan). Stale: another entry count, a highest serial below
    /// what `signed/` holds (the rule would miss one), or above everything recorded anywhere
    /// (it would skip serials for nothing; after `clean` the cache keeps a serial that has left
    /// `signed/`, but the inventory still records it). Returns whether it is stale.
    fn check_signed_max(
        &self,
        f: &mut Vec<Finding>,
        stamp_before: Option<crate::rule::DirStamp>,
        signed: &BTreeMap<u64, Vec<String>>,
        recorded_highest: u64,
    ) -> Result<bool, Error> {
        let Some(mark) = self.read_signed_max() else {
            return Ok(false);
        };
        if stamp_before != Some(mark.stamp) || self.signed_stamp() != Some(mark.stamp) {
            return Ok(false);
        }
        let highest = signed
            .range(..=serial::PUPPET_LIMIT)
            .next_back()
            .map_or(0, |(s, _)| *s);
        let entries = self.signed_entries()?;
        if mark.entries == entries && (highest..=recorded_highest).contains(&mark.highest) {
            return Ok(false);
        }
        f.push(Finding::new(
            display(&self.shown(layout::SIGNED_MAX)),
            Rule::SignedMaxStale,
            Severity::Error,
            format!(
                "the serial rule's cache says signed/ holds {} entries up to serial 0x{:04X}; it holds {entries} up to 0x{highest:04X}. `check --repair` removes it",
                mark.entries, mark.highest
            ),
        ));
        Ok(true)
    }

    /// Requests beside a signed certificate of the same name. The request that was signed
    /// (same public key) is stale, left by a `sign` whose removal failed, and blocks
    /// `sign --all`: returned for `--repair` to remove. Another one is only reported.
    fn check_requests(
        &self,
        f: &mut Vec<Finding>,
        now: OffsetDateTime,
    ) -> Result<Vec<String>, Error> {
        let mut stale = Vec::new();
        // Every request file must be a regular file that parses: anything else stops `list`
        // (and the CA API's status list) until it is removed.
        if let Ok(Some(requests)) = self.sub_if_present(layout::REQUESTS) {
            let mut entries = requests.names()?;
            entries.sort();
            for entry in entries {
                let file = entry.to_string_lossy().into_owned();
                if file.starts_with('.') && file.contains(".tmp.") {
                    continue;
                }
                let path = requests.join(&file);
                match requests.entry(&file)? {
                    Some(e) if !e.is_file() => f.push(Finding::new(
                        display(&path),
                        Rule::UnsafeEntry,
                        Severity::Error,
                        format!(
                            "is {}, not a request file: never followed; remove it",
                            e.kind()
                        ),
                    )),
                    Some(_) if file.ends_with(".pem") => {
                        let parsed = requests
                            .read_bounded(&file, crate::fsutil::MAX_PEM)
                            .map_err(|e| e.to_string())
                            .and_then(|b| {
                                clusterca_pki::CertRequest::parse(&b).map_err(|e| e.to_string())
                            });
                        if let Err(why) = parsed {
                            f.push(Finding::new(
                                display(&path),
                                Rule::UnparseableRequest,
                                Severity::Error,
                                format!("{why}; remove the file"),
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
        let (Ok(Some(signed)), Ok(Some(_))) = (
            self.sub_if_present(layout::SIGNED),
            self.sub_if_present(layout::REQUESTS),
        ) else {
            return Ok(stale);
        };
        for name in crate::status::names_in(self, layout::REQUESTS)? {
            let file = layout::pem(&name);
            if !signed.exists(&file) {
                continue;
            }
            let request = self.request_shown(&name);
            let csr_key = self
                .read_request(&name)
                .ok()
                .flatten()
                .and_then(|b| clusterca_pki::CertRequest::parse(&b).ok())
                .map(|r| r.spki_der);
            let cert_key = crate::read_cert_file(&signed, &file, now)
                .ok()
                .map(|(_, i)| i.spki_der);
            if csr_key.is_some() && csr_key == cert_key {
                f.push(Finding::new(
                    display(&request),
                    Rule::StaleRequest,
                    Severity::Error,
                    "already signed (a removal failed); it blocks `sign --all`. `check --repair` removes it",
                ));
                stale.push(file);
            } else {
                f.push(Finding::new(
                    display(&request),
                    Rule::RequestBesideSigned,
                    Severity::Warning,
                    format!("{name} is already signed with another key; clean it before signing this request"),
                ));
            }
        }
        Ok(stale)
    }

    /// Every entry of the layout that must be a directory or a regular file (a lock file with
    /// one link): a symlink or anything else in its place is an error, never followed.
    fn check_layout(&self, f: &mut Vec<Finding>) -> Result<Vec<&'static str>, Error> {
        let mut found = Vec::new();
        for (name, kind) in layout::GUARDED {
            let Some(entry) = self.root().entry(name)? else {
                continue;
            };
            let problem = if entry.is_symlink() {
                Some("is a symbolic link: clusterca refuses to follow it (another user who can write the CA directory may have planted it); replace it with the real file".to_owned())
            } else if kind == Kind::Dir && !entry.is_dir() {
                Some(format!("is {}, not a directory", entry.kind()))
            } else if kind != Kind::Dir && !entry.is_file() {
                Some(format!("is {}, not a regular file", entry.kind()))
            } else if kind == Kind::Single && entry.nlink != 1 {
                Some(format!(
                    "has {} hard links: a file changed in place must have one (the other names would change too); replace it with a copy (cp, then mv over it)",
                    entry.nlink
                ))
            } else {
                None
            };
            if let Some(why) = problem {
                found.push(name);
                f.push(Finding::new(
                    display(&self.shown(name)),
                    Rule::UnsafeEntry,
                    Severity::Error,
                    why,
                ));
            }
        }
        Ok(found)
    }

    /// Modes no looser than Puppet's: keys 0640 at most, everything else not writable by
    /// group or others.
    fn check_modes(&self, f: &mut Vec<Finding>) -> Result<(), Error> {
        for (name, forbidden, severity, why) in MODE_RULES {
            let path = self.shown(name);
            // A symlink is reported by the layout check; its own mode means nothing.
            let Some(meta) = self.root().entry(name)?.filter(|m| !m.is_symlink()) else {
                continue;
            };
            let mode = meta.mode & 0o7777;
            if mode & forbidden != 0 {
                f.push(Finding::new(
                    display(&path),
                    Rule::LooseMode,
                    severity,
                    if meta.is_file() && meta.nlink > 1 {
                        // Its mode is another name's too: not changed by --repair.
                        format!(
                            "mode {mode:04o}: {why}; it has other hard links: give it its own copy (mode {:04o})",
                            mode & !forbidden
                        )
                    } else {
                        format!(
                            "mode {mode:04o}: {why} (`check --repair` sets {:04o})",
                            mode & !forbidden
                        )
                    },
                ));
            }
        }
        Ok(())
    }
}

impl Store {
    /// Takes from each entry of [`MODE_RULES`] the bits it may not have, on the open file or
    /// directory (never through a symlink; a file with other hard links is left alone, as
    /// its mode is theirs too), and says what it changed as `chmod` would be typed.
    fn tighten_modes(&self, done: &mut Vec<String>) -> Result<(), Error> {
        use std::os::unix::fs::MetadataExt;
        let root = self.root();
        for (name, forbidden, _, _) in MODE_RULES {
            let Some(entry) = root.entry(name)?.filter(|m| !m.is_symlink()) else {
                continue;
            };
            if entry.mode & forbidden == 0 {
                continue;
            }
            let path = self.shown(name);
            // The mode is read again from what was opened: the entry may have been replaced.
            let (mode, fd): (u32, std::os::fd::OwnedFd) = if entry.is_dir() {
                let dir = root.sub(name)?;
                let st = dir.stat()?;
                let fd = dir.fd().try_clone_to_owned().ctx("dup", &path)?;
                (st.st_mode & 0o7777, fd)
            } else if entry.is_file() {
                let file = root.open_regular(name)?;
                let meta = file.metadata().ctx("stat", &path)?;
                // Its mode is another name's too: left, and the finding says so.
                if meta.nlink() > 1 {
                    continue;
                }
                (meta.mode() & 0o7777, file.into())
            } else {
                continue;
            };
            if mode & forbidden == 0 {
                continue;
            }
            let want = mode & !forbidden;
            crate::fsutil::set_meta(std::os::fd::AsFd::as_fd(&fd), &path, want, None)?;
            rustix::fs::fsync(&fd)
                .map_err(std::io::Error::from)
                .ctx("fsync", &path)?;
            done.push(format!(
                "chmod {want:04o} {} (was {mode:04o})",
                display(&path)
            ));
        }
        Ok(())
    }
}

/// What `check` requires of each mode: (entry, bits it may not have, severity, why).
const MODE_RULES: [(&str, u32, Severity, &str); 10] = [
    (
        "ca_key.pem",
        0o137,
        Severity::Error,
        "the CA key must be 0640 or tighter",
    ),
    (
        layout::ROOT_KEY,
        0o137,
        Severity::Error,
        "the root key must be 0640 or tighter",
    ),
    (
        layout::INFRA_CRL,
        0o022,
        Severity::Warning,
        "writable by group or others",
    ),
    (
        "ca_crt.pem",
        0o022,
        Severity::Warning,
        "writable by group or others",
    ),
    (
        "ca_pub.pem",
        0o022,
        Severity::Warning,
        "writable by group or others",
    ),
    (
        "ca_crl.pem",
        0o022,
        Severity::Warning,
        "writable by group or others",
    ),
    (
        "serial",
        0o022,
        Severity::Warning,
        "writable by group or others",
    ),
    (
        "inventory.txt",
        0o022,
        Severity::Warning,
        "writable by group or others",
    ),
    (
        "signed",
        0o022,
        Severity::Warning,
        "directory writable by group or others",
    ),
    (
        "requests",
        0o002,
        Severity::Warning,
        "directory writable by others",
    ),
];

impl Store {
    /// Why Puppet Server could not sign with this CA, when the directory looks like Puppet
    /// Server's (its `infra_*` files or `root_key.pem`, a path ending in `puppetserver/ca` or
    /// `ssl/ca`, or Puppet's Netscape Comment on the CA certificate) and the CA key is not
    /// RSA: Puppet Server 7 reads every CA key as RSA and signs with SHA256withRSA only.
    fn puppet_cannot_sign(&self, ca: &clusterca_pki::CertificateAuthority) -> Option<String> {
        let algorithm = clusterca_pki::inspect::spki_info(&ca.spki_der())
            .map(|k| match k.curve {
                Some(curve) => format!("{} {curve}", k.algorithm),
                None => k.algorithm,
            })
            .ok()?;
        if algorithm == "RSA" {
            return None;
        }
        let files = [
            layout::INFRA_CRL,
            layout::INFRA_INVENTORY,
            layout::INFRA_SERIALS,
            layout::ROOT_KEY,
        ];
        // By its absolute name (`--dir .` inside Puppet's cadir too); a heuristic for a note.
        let path = std::fs::canonicalize(self.root().path())
            .unwrap_or_else(|_| self.root().path().to_path_buf());
        let puppet_path = path.ends_with("puppetserver/ca") || path.ends_with("ssl/ca");
        // Puppet's Netscape Comment, by its value (an IA5String in the extension).
        const COMMENT: &[u8] = b"Puppet Server Internal Certificate";
        let comment = ca.cert_der().windows(COMMENT.len()).any(|w| w == COMMENT);
        // Puppet's files, as regular files (a planted symlink is `check`'s error, not a sign).
        let puppet_file = files.iter().any(|f| {
            self.root()
                .entry(f)
                .ok()
                .flatten()
                .is_some_and(|e| e.is_file())
        });
        if !(puppet_path || comment || puppet_file) {
            return None;
        }
        Some(format!(
            "the CA key is {algorithm} and this looks like Puppet Server's CA directory: Puppet Server 7 signs only with an RSA CA key (its CA service fails on this one); clusterca signs with it"
        ))
    }
}

/// An I/O error that says nothing about the directory's content (EIO, ENOSPC, ...): `check`
/// fails with it (exit 4) rather than reporting a finding. A missing or unreadable file
/// (permissions) is a finding.
/// One entry of `signed/` as `check` reads it (see `read_signed_entry`).
enum SignedEntry {
    /// A temporary file left by an interrupted write.
    Temp(String),
    /// A finding about the entry itself (path, rule, severity, message): it is not read on.
    Finding(std::path::PathBuf, Rule, Severity, String),
    /// A certificate file, parsed, with whether the CA signed it (when the CA is known).
    Cert {
        file: String,
        name: CertName,
        info: Box<inspect::CertSummary>,
        signed: Option<bool>,
        /// What else the file holds (see `extra_content`).
        extra: Option<String>,
    },
}

/// Reads, parses and checks the signature of one `signed/` entry. `Err` only for a failing
/// disk, which stops the check.
fn read_signed_entry(
    dir: &Dir,
    entry: &std::ffi::OsStr,
    ca_spki: Option<&[u8]>,
) -> Result<SignedEntry, Error> {
    let file = entry.to_string_lossy().into_owned();
    let path = dir.join(&file);
    if file.starts_with('.') && file.contains(".tmp.") {
        return Ok(SignedEntry::Temp(file));
    }
    let Some(stem) = file.strip_suffix(".pem") else {
        return Ok(SignedEntry::Finding(
            path,
            Rule::UnexpectedFile,
            Severity::Warning,
            "not a .pem file".into(),
        ));
    };
    let name = match stem.parse::<CertName>() {
        Ok(n) => n,
        Err(e) => {
            return Ok(SignedEntry::Finding(
                path,
                Rule::InvalidCertname,
                Severity::Error,
                e.to_string(),
            ))
        }
    };
    let mut extra = None;
    let read = dir
        .read_bounded(&file, crate::fsutil::MAX_PEM)
        .and_then(|bytes| {
            // Every block decoded once: the first is the certificate, the rest are extra.
            let blocks = inspect::certificates(&bytes).map_err(|source| Error::Pki {
                path: path.clone(),
                source,
            })?;
            extra = extra_content(&bytes, blocks.len());
            blocks.into_iter().next().ok_or_else(|| Error::Corrupt {
                path: path.clone(),
                line: None,
                reason: "no CERTIFICATE block".into(),
            })
        })
        .and_then(|der| {
            inspect::certificate_summary_signed_by(&der, ca_spki).map_err(|source| Error::Pki {
                path: path.clone(),
                source,
            })
        });
    match read {
        Ok((info, signed)) => Ok(SignedEntry::Cert {
            file,
            name,
            info: Box::new(info),
            signed,
            extra,
        }),
        Err(e) if failing_disk(&e) => Err(e),
        Err(e) => {
            let msg = match e {
                Error::Pki { source, .. } => source.to_string(),
                Error::Corrupt { reason, .. } => reason,
                other => other.to_string(),
            };
            Ok(SignedEntry::Finding(
                path,
                Rule::UnparseableCertificate,
                Severity::Error,
                msg,
            ))
        }
    }
}

/// What a `signed/` file holds besides its one certificate, if anything: more certificate
/// blocks, or anything but whitespace before or after the block. Agents get the whole file
/// (`GET certificate`), so a certificate appended by someone else would reach them.
fn extra_content(bytes: &[u8], blocks: usize) -> Option<String> {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    if blocks > 1 {
        return Some(format!(
            "holds {blocks} certificates; a signed/ file holds one (agents would get them all): keep the CA's own and remove the rest"
        ));
    }
    let start = find(bytes, BEGIN)?;
    let end = find(bytes, END).map_or(bytes.len(), |e| e + END.len());
    let outside = |part: &[u8]| part.iter().any(|b| !b.is_ascii_whitespace());
    // `start` was found in `bytes`: the range is in it.
    if outside(&bytes[..start]) || outside(bytes.get(end..).unwrap_or_default()) {
        return Some(
            "holds bytes outside its certificate block (agents would get them too): rewrite it with the certificate alone".into(),
        );
    }
    None
}

fn failing_disk(e: &Error) -> bool {
    use std::io::ErrorKind::{NotFound, PermissionDenied};
    matches!(e, Error::Io { source, .. } if !matches!(source.kind(), NotFound | PermissionDenied))
}

/// The `serial` file against the serial rule's floor: behind it (Puppet Server, which does not
/// apply the rule, would reuse a serial), or past Puppet's limit.
fn check_serial_counter(f: &mut Vec<Finding>, path: &Path, next: Option<u64>, floor: u64) {
    let Some(next) = next else { return };
    if next < floor {
        f.push(Finding::new(
            display(path),
            Rule::SerialBehind,
            Severity::Error,
            format!(
                "holds {} but 0x{:04X} is recorded; clusterca skips ahead, Puppet Server would reuse serials. `check --repair` sets it to {}",
                serial::format(next),
                floor - 1,
                serial::format(floor)
            ),
        ));
    }
    if next > serial::PUPPET_LIMIT {
        f.push(Finding::new(
            display(path),
            Rule::SerialAboveLimit,
            Severity::Error,
            format!(
                "holds 0x{next:X}, past 0x{:X}: Puppet Server cannot read it and clusterca signs no more; `check --repair` rewrites it by the serial rule",
                serial::PUPPET_LIMIT
            ),
        ));
    }
}

/// Recorded serials above Puppet's limit: harmless to the rule, fatal to Puppet Server.
fn check_beyond_limit(f: &mut Vec<Finding>, recorded: &serial::Recorded) {
    let above: BTreeSet<u64> = [&recorded.inventory, &recorded.signed]
        .into_iter()
        .flat_map(|s| s.range(serial::PUPPET_LIMIT + 1..))
        .copied()
        .collect();
    for s in above.iter().take(20) {
        f.push(Finding::new(
            format!("serial 0x{s:04X}"),
            Rule::SerialAboveLimit,
            Severity::Warning,
            format!(
                "recorded serial 0x{s:X} is past 0x{:X}, which Puppet Server reads as its highest; the serial rule leaves it out",
                serial::PUPPET_LIMIT
            ),
        ));
    }
}

/// CRL entries for serials never issued: revoked before they exist. The serial rule never
/// hands them out, so no later certificate is born revoked.
fn check_unissued_revocations(f: &mut Vec<Finding>, recorded: &serial::Recorded) {
    let unissued: Vec<u64> = recorded
        .crl
        .iter()
        .filter(|s| !recorded.issued(**s))
        .copied()
        .collect();
    if unissued.is_empty() {
        return;
    }
    let shown: Vec<String> = unissued
        .iter()
        .take(20)
        .map(|s| format!("0x{s:04X}"))
        .collect();
    f.push(Finding::new(
        "ca_crl.pem",
        Rule::CrlUnissuedSerial,
        // Every CA imported with its CRL has these; the serial rule makes them harmless.
        Severity::Info,
        format!(
            "the CRL revokes {} serial(s) never recorded as issued ({}{}): an imported CA's unrecorded certificates, or `revoke --serial --force`; the serial rule never hands them out",
            unissued.len(),
            shown.join(", "),
            if unissued.len() > shown.len() { ", ..." } else { "" }
        ),
    ));
}

/// Serials in `from..to` not in `used`, as ranges (`0x0005-0x0007`, `0x000C`), at most 20.
/// Walks the used serials, not the range, so a huge serial costs nothing.
fn gap_ranges(used: &BTreeSet<u64>, from: u64, to: u64) -> Vec<String> {
    let mut out = Vec::new();
    let to = to.min(serial::PUPPET_LIMIT + 1);
    if from >= to {
        return out;
    }
    let mut next = from;
    for &u in used.range(from..to).chain(std::iter::once(&to)) {
        if u > next {
            if out.len() == 20 {
                out.push("...".into());
                break;
            }
            out.push(range(next, u - 1));
        }
        next = u.saturating_add(1);
    }
    out
}

fn range(a: u64, b: u64) -> String {
    if a == b {
        format!("0x{a:04X}")
    } else {
        format!("0x{a:04X}-0x{b:04X}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_reported_as_ranges() {
        let used: BTreeSet<u64> = [1, 2, 5, 9].into_iter().collect();
        assert_eq!(
            gap_ranges(&used, 1, 12),
            ["0x0003-0x0004", "0x0006-0x0008", "0x000A-0x000B"]
        );
        assert!(gap_ranges(&used, 1, 3).is_empty());
        assert!(gap_ranges(&used, 5, 1).is_empty(), "an empty range");
        let at_the_top: BTreeSet<u64> = [1, u64::MAX].into_iter().collect();
        assert_eq!(gap_ranges(&at_the_top, 1, u64::MAX), ["0x0002-0x7FFFFFFF"]);
    }
}
