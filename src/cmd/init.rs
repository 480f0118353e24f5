//! `clusterca init`: create a CA directory.

use std::io::Write;

use clusterca_pki::{CaSpec, KeyType, PrivateKey, Ttl};
use clusterca_store::{inventory, Owner, Store};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{Format, Global, InitArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Outcome};

/// `--format json` output of `init`.
#[derive(Serialize)]
struct Created {
    dir: String,
    subject: String,
    key_type: String,
    serial_number: u64,
    not_before: String,
    not_after: String,
    fingerprint: String,
    files: Vec<String>,
}

/// Puppet Server's files belong to `puppet:puppet` when it runs as root; do the same when
/// that user and group exist.
pub fn puppet_owner() -> Option<Owner> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let user = nix::unistd::User::from_name("puppet").ok().flatten()?;
    let group = nix::unistd::Group::from_name("puppet").ok().flatten()?;
    Some(Owner {
        uid: user.uid.as_raw(),
        gid: group.gid.as_raw(),
    })
}

fn default_ca_name() -> String {
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "localhost".into());
    format!("Puppet CA: {host}")
}

pub fn run(g: &Global, args: &InitArgs) -> Result<Outcome, Failure> {
    let key_type: KeyType = args.key_type.parse()?;
    let ttl: Ttl = args.ttl.parse()?;
    let spec = CaSpec {
        common_name: args.ca_name.clone().unwrap_or_else(default_ca_name),
        ttl,
    };
    let now = OffsetDateTime::now_utc();
    let key = PrivateKey::generate(key_type)?;
    let (_store, ca) = Store::create(&g.dir, &spec, key, puppet_owner(), now)?;
    let (not_before, not_after) = ca.validity();
    let created = Created {
        dir: g.dir.display().to_string(),
        subject: ca.subject().to_owned(),
        key_type: key_type.to_string(),
        serial_number: 1,
        not_before: inventory::format_time(not_before),
        not_after: inventory::format_time(not_after),
        fingerprint: clusterca_pki::fingerprint_sha256(ca.cert_der()),
        files: {
            use clusterca_store::layout::*;
            vec![
                CA_CRT.into(),
                CA_KEY.into(),
                CA_PUB.into(),
                CA_CRL.into(),
                SERIAL.into(),
                INVENTORY.into(),
                format!("{SIGNED}/"),
                format!("{REQUESTS}/"),
            ]
        },
    };
    if g.format == Format::Json {
        output::json(&created)?;
        return Ok(Outcome::Clean);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "created CA {} in {}",
        sanitize(&created.subject),
        sanitize(&created.dir)
    )?;
    writeln!(out, "  key type     {}", created.key_type)?;
    writeln!(out, "  valid until  {}", created.not_after)?;
    writeln!(out, "  fingerprint  (SHA256) {}", created.fingerprint)?;
    writeln!(out, "  files        {}", created.files.join(" "))?;
    Ok(Outcome::Clean)
}
