//! The names of a CA directory's files: the one place they are spelled. Everything outside
//! the store asks the [`crate::Store`] for contents, never for a path into the directory.

use clusterca_pki::CertName;

/// The CA certificate bundle (the CA first, then its issuers).
pub const CA_CRT: &str = "ca_crt.pem";
/// The CA's private key.
pub const CA_KEY: &str = "ca_key.pem";
/// The CA's public key.
pub const CA_PUB: &str = "ca_pub.pem";
/// The CRL (chain): the CA's own first.
pub const CA_CRL: &str = "ca_crl.pem";
/// The next serial, hexadecimal.
pub const SERIAL: &str = "serial";
/// One line per certificate issued.
pub const INVENTORY: &str = "inventory.txt";
/// Signed certificates, `NAME.pem`.
pub const SIGNED: &str = "signed";
/// Certificate requests waiting, `NAME.pem`.
pub const REQUESTS: &str = "requests";
/// The root's private key of a two-level CA, where `puppetserver ca setup` keeps it (Puppet
/// Server never reads it; `init --chain` writes it elsewhere).
pub const ROOT_KEY: &str = "root_key.pem";
/// Puppet's infrastructure CRL, inventory and serials (`puppetserver ca setup` writes them;
/// Puppet Server reads them only with `enable-infra-crl`).
pub const INFRA_CRL: &str = "infra_crl.pem";
/// See [`INFRA_CRL`].
pub const INFRA_INVENTORY: &str = "infra_inventory.txt";
/// See [`INFRA_CRL`].
pub const INFRA_SERIALS: &str = "infra_serials";
/// The store lock (ours; Puppet Server ignores it).
pub const LOCK: &str = "clusterca.lock";
/// The signer lease, held for its whole life by the active `serve`.
pub const LEASE: &str = "clusterca.lease";
/// The batch journal (see `journal`).
pub const JOURNAL: &str = "clusterca.journal";
/// Prefix of a journal set aside as unreadable.
pub const JOURNAL_SET_ASIDE: &str = "clusterca.journal.unreadable.";
/// The serial rule's cache of `signed/` (see `rule`).
pub const SIGNED_MAX: &str = "clusterca.signed-max";
/// Patterns of alt names a CSR may ask for.
pub const ALT_NAMES_ALLOW: &str = "alt-names.allow";
/// `serve`'s own TLS certificate and key.
pub const SERVE: &str = "serve";

/// The files every CA directory has; Puppet Server refuses to start with some missing.
pub const REQUIRED_FILES: [&str; 5] = [CA_CRT, CA_KEY, CA_CRL, INVENTORY, SERIAL];

/// Entries that must be what they are (a directory, a regular file): `check` reports a
/// symlink or anything else in their place, and the store refuses to use it.
pub const GUARDED: [(&str, Kind); 18] = [
    (CA_CRT, Kind::File),
    (CA_KEY, Kind::File),
    (CA_PUB, Kind::File),
    (CA_CRL, Kind::File),
    (SERIAL, Kind::File),
    (INVENTORY, Kind::Single),
    (SIGNED, Kind::Dir),
    (REQUESTS, Kind::Dir),
    (LOCK, Kind::Single),
    (LEASE, Kind::Single),
    (JOURNAL, Kind::File),
    (SIGNED_MAX, Kind::File),
    (ALT_NAMES_ALLOW, Kind::File),
    (SERVE, Kind::Dir),
    (ROOT_KEY, Kind::File),
    (INFRA_CRL, Kind::File),
    (INFRA_INVENTORY, Kind::File),
    (INFRA_SERIALS, Kind::File),
];

/// What a guarded entry must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A regular file with exactly one link: changed in place (a lock file, `inventory.txt`),
    /// so another link would change another file too.
    Single,
    /// A directory.
    Dir,
}

/// The file of `name` in `signed/` or `requests/`.
pub fn pem(name: &CertName) -> String {
    format!("{name}.pem")
}
