//! What to install where: an [`InstallPlan`] of directories and files, each with its exact mode
//! and owner, built from a layout (Puppet's ssldir, loose files, haproxy's combined PEM) and
//! the PEMs of one certname. The plan is data; [`crate::apply`] carries it out on this machine
//! and [`crate::sh::render`] turns it into a script for another.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// Puppet's modes: certificates, the CA bundle and the CRL 0644; keys 0640; the ssldir 0771,
/// `certs/` 0755, `private_keys/` 0750 (as the agent makes them).
pub mod puppet_modes {
    /// ssldir.
    pub const SSLDIR: u32 = 0o771;
    /// `certs/`.
    pub const CERTS: u32 = 0o755;
    /// `private_keys/`.
    pub const PRIVATE_KEYS: u32 = 0o750;
    /// Certificates, CA bundle, CRL.
    pub const PUBLIC: u32 = 0o644;
    /// Private keys.
    pub const KEY: u32 = 0o640;
}

/// Who should own something, by name; `None` keeps the installing user's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ownership {
    /// User name (or numeric uid).
    pub user: Option<String>,
    /// Group name (or numeric gid).
    pub group: Option<String>,
}

/// A directory the plan needs.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedDir {
    /// Where.
    pub path: PathBuf,
    /// Exact mode.
    pub mode: u32,
    /// Owner and group.
    pub owner: Ownership,
}

/// A file the plan writes.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedFile {
    /// Where.
    pub path: PathBuf,
    /// What it is: `certificate`, `private key`, `CA bundle`, `CRL`, `combined PEM`.
    pub what: &'static str,
    /// The bytes.
    #[serde(skip)]
    pub content: Vec<u8>,
    /// Exact mode.
    pub mode: u32,
    /// Owner and group.
    pub owner: Ownership,
}

/// Directories (parents first) and files to put in place.
#[derive(Debug, Clone, Serialize)]
pub struct InstallPlan {
    /// The certname installed.
    pub name: String,
    /// Directories to create or fix.
    pub dirs: Vec<PlannedDir>,
    /// Files to write.
    pub files: Vec<PlannedFile>,
    /// Keep a replaced file as `FILE.bak.<timestamp>`.
    pub backup: bool,
}

/// The PEMs of one certname.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The certname.
    pub name: String,
    /// Its certificate.
    pub cert: Vec<u8>,
    /// Its private key; `None` for a certificate signed from the node's CSR, whose key never
    /// left the node (`--cert-only`): nothing is installed in the key's place.
    pub key: Option<Vec<u8>>,
    /// The whole CA bundle.
    pub ca: Vec<u8>,
    /// The CRL (chain), when there is one.
    pub crl: Option<Vec<u8>>,
}

/// Where the files go.
#[derive(Debug, Clone)]
pub enum Layout {
    /// Puppet's ssldir: `certs/NAME.pem`, `private_keys/NAME.pem`, `certs/ca.pem`, `crl.pem`.
    Puppet {
        /// The ssldir.
        ssldir: PathBuf,
    },
    /// Loose files for any other service; a path left out is not installed.
    Files {
        /// The certificate.
        cert: Option<PathBuf>,
        /// The private key.
        key: Option<PathBuf>,
        /// The CA bundle.
        ca: Option<PathBuf>,
        /// The CRL.
        crl: Option<PathBuf>,
        /// Mode of certificate, CA bundle and CRL.
        mode: u32,
        /// Mode of the key.
        key_mode: u32,
    },
    /// haproxy's `crt` file: certificate, CA chain and key in one 0600 file.
    Haproxy {
        /// The combined PEM.
        pem: PathBuf,
    },
}

fn with_newline(mut bytes: Vec<u8>) -> Vec<u8> {
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    bytes
}

impl InstallPlan {
    /// The plan for `src` in `layout`, every directory and file owned by `owner`.
    pub fn new(layout: &Layout, src: &Sources, owner: &Ownership, backup: bool) -> InstallPlan {
        let file = |path: &Path, what, content: &[u8], mode| PlannedFile {
            path: path.to_path_buf(),
            what,
            content: with_newline(content.to_vec()),
            mode,
            owner: owner.clone(),
        };
        let dir = |path: PathBuf, mode| PlannedDir {
            path,
            mode,
            owner: owner.clone(),
        };
        let (dirs, files) = match layout {
            Layout::Puppet { ssldir } => {
                use puppet_modes::*;
                let pem = format!("{}.pem", src.name);
                let mut files = vec![file(
                    &ssldir.join("certs").join(&pem),
                    "certificate",
                    &src.cert,
                    PUBLIC,
                )];
                if let Some(key) = &src.key {
                    files.push(file(
                        &ssldir.join("private_keys").join(&pem),
                        "private key",
                        key,
                        KEY,
                    ));
                }
                files.push(file(
                    &ssldir.join("certs/ca.pem"),
                    "CA bundle",
                    &src.ca,
                    PUBLIC,
                ));
                if let Some(crl) = &src.crl {
                    files.push(file(&ssldir.join("crl.pem"), "CRL", crl, PUBLIC));
                }
                let dirs = vec![
                    dir(ssldir.clone(), SSLDIR),
                    dir(ssldir.join("certs"), CERTS),
                    dir(ssldir.join("private_keys"), PRIVATE_KEYS),
                ];
                (dirs, files)
            }
            Layout::Files {
                cert,
                key,
                ca,
                crl,
                mode,
                key_mode,
            } => {
                let mut files = Vec::new();
                let wanted = [
                    (cert, "certificate", Some(&src.cert), *mode),
                    (key, "private key", src.key.as_ref(), *key_mode),
                    (ca, "CA bundle", Some(&src.ca), *mode),
                    (crl, "CRL", src.crl.as_ref(), *mode),
                ];
                for (path, what, content, mode) in wanted {
                    if let (Some(path), Some(content)) = (path, content) {
                        files.push(file(path, what, content, mode));
                    }
                }
                (Vec::new(), files)
            }
            Layout::Haproxy { pem } => {
                let mut combined = with_newline(src.cert.clone());
                combined.extend(with_newline(src.ca.clone()));
                // Without a key (refused by the CLI: haproxy needs it), certificate and chain.
                combined.extend(with_newline(src.key.clone().unwrap_or_default()));
                (
                    Vec::new(),
                    vec![file(pem, "combined PEM", &combined, 0o600)],
                )
            }
        };
        InstallPlan {
            name: src.name.clone(),
            dirs,
            files,
            backup,
        }
    }
}
