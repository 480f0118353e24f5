//! One module per verb. Each turns its arguments into validated values, calls the libraries,
//! and renders the result; none of them decides exit codes (that is `main`'s job).

mod audit;
mod check;
mod deploy;
mod help;
mod import;
mod init;
mod issue;
mod list;
mod renew;
mod revoke;
mod serve;
mod show;
mod sign;
mod verify;

use std::time::Duration;

use clusterca_pki::Error as PkiError;
use clusterca_store::Error as StoreError;

use crate::cli::{Cli, Command};
use crate::{Failure, Kind, Outcome};

pub fn run(cli: Cli) -> Result<Outcome, Failure> {
    let g = &cli.global();
    match &cli.command {
        Command::Init(args) => init::run(g, args),
        Command::Import(args) => import::run(g, args),
        Command::Issue(args) => issue::run(g, args),
        Command::Show(args) => show::run(g, args),
        Command::List(args) => list::run(g, args),
        Command::Check(args) => check::run(g, args),
        Command::Submit(args) => sign::submit(g, args),
        Command::Sign(args) => sign::sign(g, args),
        Command::Renew(args) => renew::run(g, args),
        Command::Revoke(args) => revoke::revoke(g, args),
        Command::Clean(args) => revoke::clean(g, args),
        Command::Crl(args) => revoke::crl(g, args),
        Command::Audit(args) => audit::audit(g, args),
        Command::Probe(args) => audit::probe(g, args),
        Command::Verify(args) => verify::run(g, args),
        Command::Config(_) => help::config(g),
        Command::Install(args) => deploy::install(g, args),
        Command::Bundle(args) => deploy::bundle(g, args),
        Command::Push(args) => deploy::push(g, args),
        Command::Serve(args) => serve::run(g, args),
        Command::Completions(args) => help::completions(args),
        Command::Help(args) => help::help(args),
    }
}

impl From<PkiError> for Failure {
    fn from(e: PkiError) -> Self {
        Failure::input(e.to_string())
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::from(&e)
    }
}

impl From<&StoreError> for Failure {
    fn from(e: &StoreError) -> Self {
        let kind = match e {
            StoreError::PartlyRepaired { source, .. } => Failure::from(&**source).kind,
            StoreError::Busy { .. } => Kind::Busy,
            StoreError::Io { .. }
            | StoreError::Unfinished { .. }
            | StoreError::Recorded { .. }
            | StoreError::CreatedNotDurable { .. } => Kind::System,
            _ => Kind::Input,
        };
        Failure {
            kind,
            message: e.to_string(),
        }
    }
}

/// Tells on stderr what the store did to finish an interrupted batch before this command.
pub fn print_notes(store: &clusterca_store::Store) {
    for note in store.take_notes() {
        eprintln!(
            "clusterca: note: finished an interrupted batch: {}",
            crate::output::sanitize(&note)
        );
    }
}

/// Opens the `--out` directory `dir`, first making it and any missing parent (mode 0700: keys
/// go there) when it does not exist, as `mkdir -p` would; a file or anything else in the way
/// is bad input. Called after the other arguments are checked, so that a refused command
/// leaves no new directory behind.
pub fn open_out(dir: &std::path::Path) -> Result<clusterca_store::fsutil::Dir, Failure> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| Failure {
                    kind: Kind::System,
                    message: format!("--out {}: cannot create it: {e}", quote_path(dir)),
                })?;
        }
        Ok(m) if !m.is_dir() && !m.file_type().is_symlink() => {
            return Err(Failure::input(format!(
                "--out {}: exists and is not a directory",
                quote_path(dir)
            )));
        }
        _ => {}
    }
    // Opened once: every file is written relative to this handle.
    Ok(clusterca_store::fsutil::Dir::open(dir)?)
}

/// A path as messages quote it: escaped, at most 80 bytes of it.
fn quote_path(path: &std::path::Path) -> String {
    clusterca_pki::quote(&path.to_string_lossy())
}

/// Refuses a leaf lifetime that would end after the issuing CA's certificate: such a
/// certificate stops verifying when the CA expires, long before its own notAfter says.
/// `--allow-beyond-ca` lets it through.
pub fn check_within_ca(
    auth: &clusterca_store::Authority,
    ttl: clusterca_pki::Ttl,
    allow: bool,
    now: time::OffsetDateTime,
) -> Result<(), Failure> {
    let (_, ca_end) = auth.ca().validity();
    let end = clusterca_pki::valid_until(now, ttl)?;
    if end > ca_end && !allow {
        return Err(Failure::input(format!(
            "--ttl {ttl}: the certificate would end {}, after its CA does ({}); give a shorter --ttl, renew the CA first (`renew --ca`), or pass --allow-beyond-ca",
            clusterca_pki::rfc3339(end),
            clusterca_pki::rfc3339(ca_end)
        )));
    }
    Ok(())
}

/// Parses a serial given in hex (`1F`, `0x1F`) for `flag`.
pub fn parse_hex_serial(flag: &str, text: &str) -> Result<u64, Failure> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    u64::from_str_radix(digits, 16).map_err(|_| {
        Failure::input(format!(
            "invalid {flag} {text:?}: expected hexadecimal, e.g. 0x1F"
        ))
    })
}

/// Parses a duration: a number with unit ms, s or m; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, Failure> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale = match unit {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        _ => f64::NAN,
    };
    num.parse::<f64>()
        .ok()
        .map(|n| n * scale)
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            Failure::input(format!(
                "duration {}: expected one such as 30s, 2m or 500ms",
                clusterca_pki::quote(text)
            ))
        })
}

/// The most read of one PEM or DER file the user names (a CSR, a certificate, a key, a CRL):
/// beyond it the file is not one, whatever it is (`/dev/zero`).
pub const MAX_INPUT: u64 = clusterca_store::fsutil::MAX_PEM;

/// The most read of a list the user names (`--from-file`, `--hosts-file`).
pub const MAX_LIST: u64 = 64 << 20;

/// Reads a PEM or DER file the user named (at most [`MAX_INPUT`]), with an error that names it.
pub fn read_input(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    read_bounded_input(path, MAX_INPUT, "a PEM or DER file")
}

/// Reads a file the user named, at most `cap` bytes (a pipe or `/dev/stdin` too: it is the
/// user's input, not a file of ours); a longer one is refused naming the limit and `what` the
/// file should have been.
pub fn read_bounded_input(
    path: &std::path::Path,
    cap: u64,
    what: &str,
) -> Result<Vec<u8>, Failure> {
    use std::io::Read;
    let fail = |e: std::io::Error| Failure {
        kind: if e.kind() == std::io::ErrorKind::NotFound
            || e.kind() == std::io::ErrorKind::PermissionDenied
            || e.kind() == std::io::ErrorKind::IsADirectory
        {
            Kind::Input
        } else {
            Kind::System
        },
        message: format!("cannot read {}: {e}", path.display()),
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(cap + 1).read_to_end(&mut bytes))
        .map_err(fail)?;
    if bytes.len() as u64 > cap {
        let limit = if cap >= 1 << 20 {
            format!("{} MiB", cap >> 20)
        } else {
            format!("{} KiB", cap >> 10)
        };
        return Err(Failure::input(format!(
            "{}: larger than {limit}, more than {what} can be",
            path.display()
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        for bad in ["", "x", "5h", "-1s", "1e99"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
