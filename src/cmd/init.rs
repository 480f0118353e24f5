//! `clusterca init`: create a CA directory.

use std::io::Write;

use clusterca_pki::{
    CaSpec, CertificateAuthority, ChainSpec, KeyType, PrivateKey, Serial, Timestamp, Ttl,
};
use clusterca_store::{layout, Owner, Store};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{Global, InitArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Outcome};

/// `--format json` output of `init`.
#[derive(Serialize)]
struct Created {
    dir: String,
    subject: String,
    key_type: String,
    serial_number: Serial,
    not_before: Timestamp,
    not_after: Timestamp,
    fingerprint: String,
    files: Vec<String>,
    /// The root of a two-level CA (`--puppet`, `--chain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    root: Option<Root>,
}

impl output::Report for Created {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let created = self;
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
        if let Some(root) = &created.root {
            writeln!(out, "  signed by    {}", sanitize(&root.subject))?;
            writeln!(out, "  root until   {}", root.not_after)?;
            writeln!(out, "  root key     {}", sanitize(&root.key))?;
        }
        Ok(())
    }
}

/// The root of a two-level CA, in `init`'s output.
#[derive(Serialize)]
struct Root {
    subject: String,
    not_after: Timestamp,
    fingerprint: String,
    /// Where its private key was written.
    key: String,
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

/// The CA certificate and what the JSON output says of a root.
fn create(
    g: &Global,
    args: &InitArgs,
    spec: &CaSpec,
    key_type: KeyType,
    now: OffsetDateTime,
) -> Result<(CertificateAuthority, Option<Root>, Vec<String>), Failure> {
    let key = PrivateKey::generate(key_type)?;
    if !args.puppet && !args.chain {
        let (_store, ca) = Store::create(&g.dir, spec, key, puppet_owner(), now)?;
        return Ok((ca, None, Vec::new()));
    }
    let prefix = if args.puppet {
        "Puppet Root CA"
    } else {
        "Root CA"
    };
    let chain = ChainSpec {
        root_name: match &args.root_name {
            Some(name) => name.clone(),
            None => format!("{prefix}: {}", clusterca_pki::random_hex(7)?),
        },
        puppet: args.puppet,
    };
    let root_key = PrivateKey::generate(key_type)?;
    let new = CertificateAuthority::create_chain(spec, &chain, root_key, key, now)?;
    let root_der = clusterca_pki::inspect::certificates(new.root_pem.as_bytes())?;
    let root_info = root_der
        .first()
        .map(|der| clusterca_pki::inspect::certificate_info(der, now))
        .transpose()?;
    let mut extra = Vec::new();
    if args.puppet {
        extra.extend(
            [
                layout::INFRA_CRL,
                layout::INFRA_INVENTORY,
                layout::INFRA_SERIALS,
            ]
            .map(String::from),
        );
    }
    let key_path = match &args.root_key_out {
        Some(out) => {
            let secret = clusterca_store::write_new_secret(out, &new.root_key_pem, &g.dir)?;
            match Store::create_chain(&g.dir, &new, args.puppet, false, puppet_owner(), now) {
                Ok(_) => {}
                // The CA is in place: its root key stays, whatever failed after.
                Err(e @ clusterca_store::Error::CreatedNotDurable { .. }) => {
                    return Err(Failure {
                        kind: crate::Kind::System,
                        message: format!(
                            "{e}; the root key is in {}",
                            sanitize(&out.display().to_string())
                        ),
                    })
                }
                // No CA directory: a root key for nothing is not left behind.
                Err(e) => {
                    let mut failure = Failure::from(e);
                    if !matches!(secret.remove(), Ok(true)) {
                        failure.message += &format!(
                            "; the root key written to {} could not be removed",
                            sanitize(&out.display().to_string())
                        );
                    }
                    return Err(failure);
                }
            }
            out.display().to_string()
        }
        None => {
            Store::create_chain(&g.dir, &new, true, true, puppet_owner(), now)?;
            extra.push(layout::ROOT_KEY.to_owned());
            g.dir.join(layout::ROOT_KEY).display().to_string()
        }
    };
    let root = root_info.map(|info| Root {
        subject: info.subject_oneline,
        not_after: info.not_after_time.unwrap_or(now).into(),
        fingerprint: info.fingerprint,
        key: key_path,
    });
    Ok((new.ca, root, extra))
}

pub fn run(g: &Global, args: &InitArgs) -> Result<Outcome, Failure> {
    let key_type: KeyType = match args.key_type {
        Some(key_type) => key_type,
        None if args.puppet => KeyType::Rsa4096,
        None => KeyType::EcP256,
    };
    if args.puppet && !key_type.is_rsa() {
        return Err(Failure::input(format!(
            "--puppet --key-type {key_type}: Puppet Server signs only with RSA keys (use rsa-4096, Puppet's default, rsa-3072 or rsa-2048)"
        )));
    }
    if !args.puppet && !args.chain && (args.root_key_out.is_some() || args.root_name.is_some()) {
        return Err(Failure::input(
            "--root-key-out and --root-name need --chain or --puppet",
        ));
    }
    let ttl: Ttl = args.ttl;
    let spec = CaSpec {
        common_name: args.ca_name.clone().unwrap_or_else(default_ca_name),
        ttl,
    };
    if args.root_name.as_deref() == Some(spec.common_name.as_str()) {
        return Err(Failure::input(format!(
            "--root-name {}: the same as the CA's name; the root and the CA it signs need different names",
            sanitize(&spec.common_name)
        )));
    }
    let now = OffsetDateTime::now_utc();
    let (ca, root, extra) = create(g, args, &spec, key_type, now)?;
    let (not_before, not_after) = ca.validity();
    let created = Created {
        dir: g.dir.display().to_string(),
        subject: ca.subject().to_owned(),
        key_type: key_type.to_string(),
        serial_number: Serial::new(if root.is_some() { 2 } else { 1 }),
        not_before: not_before.into(),
        not_after: not_after.into(),
        fingerprint: clusterca_pki::fingerprint_sha256(ca.cert_der()),
        files: {
            use clusterca_store::layout::*;
            let mut files = vec![
                CA_CRT.into(),
                CA_KEY.into(),
                CA_PUB.into(),
                CA_CRL.into(),
                SERIAL.into(),
                INVENTORY.into(),
                format!("{SIGNED}/"),
                format!("{REQUESTS}/"),
            ];
            files.extend(extra);
            files
        },
        root,
    };
    output::emit(g.format, &created)?;
    Ok(Outcome::Clean)
}
