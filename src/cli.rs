//! The command line, declared once: clap builds `--help`, the man pages (`cargo xtask man`)
//! and the shell completions (`cargo xtask completions`) from these definitions. Values stay
//! strings here; `cmd/*` turns them into validated types first thing.

use std::path::PathBuf;

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clusterca_pki::{AltName, CertName, KeyType, Ttl};

/// Generic-name cluster certificates: a Puppet-compatible CA with a file-locked store.
///
/// clusterca issues certificates valid for one shared, load-balanced name
/// (puppet.example.net) on every member of a cluster, from a CA directory laid out exactly
/// as Puppet Server's cadir, with a serial counter and inventory that two signers can never
/// corrupt.
#[derive(Debug, Parser)]
#[command(
    name = "clusterca",
    version,
    propagate_version = true,
    disable_help_subcommand = true,
    after_help = "Exit status: 0 success; 1 the command ran and found problems; 2 bad usage or bad input; 3 the CA store is busy (lock timeout); 4 an I/O or system error.\n\n`clusterca help COMMAND` (or COMMAND --help) shows a command's whole help and examples."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format: text for people, json for scripts.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Text output without a line per item: only the summary of each batch (and errors).
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// `--allow-beyond-ca`, for the commands that sign leaves with a `--ttl`.
#[derive(Debug, Clone, Copy, Args)]
pub struct CaEnd {
    /// Issue even when --ttl ends after the CA certificate does (such a certificate stops
    /// verifying when the CA expires, years before its own end).
    #[arg(long)]
    pub allow_beyond_ca: bool,
}

/// The CA directory, for the commands that read or write it.
#[derive(Debug, Clone, Args)]
pub struct DirOpt {
    /// The CA directory (Puppet Server's cadir layout).
    #[arg(long, env = "CLUSTERCA_DIR", default_value = "ca", value_name = "DIR")]
    pub dir: PathBuf,
}

/// The store lock's wait, for the commands that take the lock.
#[derive(Debug, Clone, Args)]
pub struct LockOpt {
    /// How long to wait for another signer holding the CA store lock (e.g. 30s, 2m, 500ms).
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = duration)]
    pub lock_timeout: Duration,
}

/// What a command gets besides its own arguments: the output format and, where the command
/// takes them, the CA directory and the lock's wait (defaults elsewhere, unused).
#[derive(Debug, Clone)]
pub struct Global {
    pub dir: PathBuf,
    pub format: Format,
    pub lock_timeout: Duration,
}

impl Cli {
    /// The [`Global`] for this command line.
    pub fn global(&self) -> Global {
        let (dir, lock) = self.command.store_options();
        Global {
            dir: dir.map_or_else(|| PathBuf::from("ca"), |d| d.dir.clone()),
            format: self.global.format,
            lock_timeout: lock.map_or(Duration::from_secs(30), |l| l.lock_timeout),
        }
    }
}

impl Command {
    /// The command's `--dir` and `--lock-timeout`, where it takes them.
    pub fn store_options(&self) -> (Option<&DirOpt>, Option<&LockOpt>) {
        use Command::*;
        match self {
            Init(a) => (Some(&a.store), None),
            Import(a) => (Some(&a.store), Some(&a.lock)),
            Issue(a) => (Some(&a.store), Some(&a.lock)),
            Show(a) => (Some(&a.store), None),
            List(a) => (Some(&a.store), None),
            Submit(a) => (Some(&a.store), Some(&a.lock)),
            Sign(a) => (Some(&a.store), Some(&a.lock)),
            Renew(a) => (Some(&a.store), Some(&a.lock)),
            Revoke(a) => (Some(&a.store), Some(&a.lock)),
            Clean(a) => (Some(&a.store), Some(&a.lock)),
            Crl(a) => (Some(&a.store), Some(&a.lock)),
            Check(a) => (Some(&a.store), Some(&a.lock)),
            Verify(a) => (Some(&a.store), None),
            Install(a) => (Some(&a.opts.store), None),
            Bundle(a) => (Some(&a.opts.store), None),
            Push(a) => (Some(&a.opts.store), None),
            Serve(a) => (Some(&a.store), Some(&a.lock)),
            Audit(_) | Probe(_) | Completions(_) | Help(_) | Config(_) => (None, None),
        }
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text for people.
    Text,
    /// JSON for scripts (documented in docs/json.md).
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a CA directory with a new CA.
    #[command(
        long_about = "Create a CA directory with a new CA, in Puppet Server's cadir layout: ca_crt.pem, ca_key.pem (0640 when owned by the puppet group, else 0600), ca_pub.pem, ca_crl.pem (an empty CRL), serial (0002), inventory.txt (the CA's own line), signed/ and requests/. The directory must be absent or empty: an existing CA is never overwritten. Run as root on a machine with a `puppet` user, the files are given to puppet:puppet, as Puppet Server does.\n\nPuppet Server 7 signs only with an RSA CA key: for a directory that both Puppet Server and clusterca sign in, use --puppet (what `puppetserver ca setup` makes: an RSA-4096 root and intermediate, the root key in root_key.pem) or --key-type rsa-4096 (a single CA). --chain makes a root and an intermediate for everyone else, with the root key written to --root-key-out and not kept in the CA directory."
    )]
    Init(InitArgs),

    /// Adopt an existing CA: a Puppet Server cadir in place, or a cert + key from OpenSSL.
    #[command(
        long_about = "Adopt an existing CA. Without --cert: the CA directory --dir as it stands (a cadir made by `puppetserver ca setup` or by Puppet Server itself: RSA key in PKCS#1 or PKCS#8, ca_crt.pem an intermediate + root bundle, a CRL chain, serial and inventory.txt in any of Puppet's formats). Nothing is rewritten; signed/ and requests/ are created if missing, and the store lock is taken once to prove no other signer holds it. With --cert and --key: create --dir (absent or empty) from a CA certificate or bundle (issuing CA first), its key and optionally its CRL chain (own CRL first), with the key written as PKCS#8 and a new empty CRL when --crl is not given. Either way the CA must be usable: the key must match the certificate, the certificate must carry CA:TRUE (and keyCertSign when it has keyUsage), the bundle must be in order, and a test certificate signed as the CA must name the CA's subject byte for byte as its issuer (subjects with repeated or multi-valued attributes are refused). Then `check` runs and its findings are printed."
    )]
    Import(ImportArgs),

    /// Generate keys and certificates for one or many certnames, with shared alt names.
    #[command(
        long_about = "Generate a key and a certificate for each NAME, signed by the CA, each with the next serial, an inventory line and a copy under signed/. Every certificate carries DNS:NAME plus every --alt-name, so one command makes either pattern: one shared certificate (`issue puppet.example.net --alt-name puppet`) or per-node certificates that all carry the shared name (`issue proxy01.example.net proxy02.example.net --alt-name smartproxy.example.net`). Keys are written to --out as NAME.key.pem (0600), certificates as NAME.pem (0644). A name that already has a signed certificate is refused, and an existing key file is never overwritten. Many names (arguments or --from-file) are issued as one batch: serials reserved in one locked step, signed in parallel, and made durable with one group commit."
    )]
    Issue(IssueArgs),

    /// Inspect a certificate, CSR, CRL or key (PEM or DER), or a certname's signed certificate.
    #[command(
        long_about = "Inspect a file: every block of a PEM bundle, or one DER object. For certificates: subject, issuer, serial (hex and decimal), validity with time left, subjectAltNames, key type and size, basicConstraints, keyUsage, extendedKeyUsage and the SHA-256 fingerprint in Puppet's colon-hex form. For a private key: its type and, with --cert, whether it matches that certificate (never the key itself). A certname instead of a file shows signed/NAME.pem from the CA directory. A certificate issued by the CA of --dir (same issuer, signed by its key) is also looked up in that CA's CRL and shown as revoked or not."
    )]
    Show(ShowArgs),

    /// List the CA's certnames with state, serial, expiry and alt names.
    #[command(
        long_about = "List certnames known to the CA: by default those waiting in requests/, as `puppetserver ca list`; with --all also signed, expired and revoked ones, each certificate with its time left (`4y 364d`, `29d`, `5h 3m`, `expired`). With --expiring D only the signed and expired certificates with at most D left: what `renew --expiring-within D` would renew. JSON output is an array of objects shaped like Puppet Server's certificate_status (name, state, dns_alt_names, subject_alt_names, fingerprint, fingerprints, serial_number, not_before, not_after) plus seconds_left; state is requested, signed, revoked or expired."
    )]
    List(ListArgs),

    /// Queue CSRs under requests/NAME.pem, or sign them at once (--sign).
    #[command(
        long_about = "File certificate signing requests (PEM or DER) under requests/NAME.pem, as an agent's `PUT certificate_request` does. NAME is the CSR's CN (or --name, for a single file) and must be a valid lowercase certname; the CSR's signature must verify; a name that already has a request or a signed certificate, or that is given twice, is refused. All the files are one group commit, as `serve` commits concurrent requests: one lock, made durable together. With --sign each request is signed at once under the alt-name policy of `sign` (alt-names.allow) instead of being filed, as `serve --autosign true` does; one the policy refuses is filed for an admin and reported. A refused file does not hold up the others; the exit code is that of the first refusal (2 for bad input, 4 for I/O)."
    )]
    Submit(SubmitArgs),

    /// Sign queued CSRs under the alt-name policy.
    #[command(
        long_about = "Sign queued requests (NAME... or --all) with the certificate profile of `issue`. Policy: alt names beyond DNS:NAME are refused unless an allowed pattern matches (--allow-alt-name, or one pattern a line in alt-names.allow in the CA directory): an exact name, `*.example.net` for any name under a domain, or `IP:address`. Wildcard alt names, CA:TRUE, Puppet authorization extensions (1.3.6.1.4.1.34380.1.3.*, pp_cli_auth among them) and unknown extensions are refused; Puppet's pp_* extensions (1.3.6.1.4.1.34380.1.1.* and .1.2.*) are copied. A refusal names the offending name or OID, and nothing is signed; with --all, every request that passes is signed and each refused one is reported on its own line (`clusterca: refused NAME: REASON` on stderr, exit 1), so one bad request does not hold up the queue."
    )]
    Sign(SignArgs),

    /// Renew certificates (same subject, alt names, extensions and key) or the CA certificate.
    #[command(
        long_about = "Renew the signed certificate of each NAME (or of every one expiring within --expiring-within, or --all): a new certificate with a new serial and validity (notBefore a day back, notAfter --ttl from now) and everything else of the old one, copied byte for byte: subject, subjectAltNames, Puppet's pp_* extensions and every other extension, signed by the CA. It works on certificates Puppet Server signed as well as on ours. Without --rekey the new certificate carries the same public key, so the CA needs no private key of the node; with --rekey a new key (of the old key's type, or --key-type) is written to --out as NAME.key.pem (0600) and the new certificate carries it. signed/NAME.pem is replaced and the new serial gets its inventory line (the old line stays), with the crash guarantees of `issue`. The old certificate stays valid, so members keep working while the new one is rolled out; --supersede adds it to the CRL with reason superseded. --out also gets the new certificate as NAME.pem. A revoked certificate is not renewed. With --ca, the CA certificate itself is renewed with its own key: same subject, key, subject key identifier and extensions, a new serial (recorded in the inventory) and validity; ca_crt.pem becomes the new certificate followed by the old bundle (the old certificate stays as history, and Puppet Server signs with the first certificate that matches the key), and the CRL is signed again. Every certificate issued before verifies against the new CA certificate alone. Restart `serve` afterwards; agents keep working with the old CA certificate until it expires and get the new one when they download ca_crt.pem again."
    )]
    Renew(RenewArgs),

    /// Revoke certificates by certname or serial, and reissue the CRL.
    #[command(
        long_about = "Revoke the certificates of the given certnames (every certificate of the name still valid: the one in signed/ and any older one a renewal left valid) or --serial numbers, in hex, by adding them to the CA's CRL with --reason (keyCompromise by default, as Puppet). The CRL keeps its existing entries, its CRL number is incremented, and when ca_crl.pem holds a CRL chain only the first (this CA's) CRL is replaced. Certificates stay in signed/ (use `clean` to remove them). Revoking a serial that is already on the CRL is not an error; a --serial this CA never issued (on no inventory line, in no signed/ file) is refused unless --force, so no later certificate is born revoked."
    )]
    Revoke(RevokeArgs),

    /// Revoke and remove certnames: Puppet's `ca clean`.
    #[command(
        long_about = "Revoke every certificate of each certname still valid (the one in signed/, and any older one a renewal left valid), then remove signed/NAME.pem and requests/NAME.pem, so the name can be issued again. inventory.txt keeps its lines, as Puppet's does."
    )]
    Clean(CleanArgs),

    /// Reissue the CRL (new number, fresh dates), --prune it, or --show it.
    #[command(
        long_about = "Reissue the CA's CRL with the same entries, the next CRL number, thisUpdate now and nextUpdate --next-update from now; only the first CRL in ca_crl.pem is replaced. With --prune, also drop the entries of certificates that have expired (by their inventory line's notAfter) and are no longer in signed/ (a revoked certificate still there keeps its entry), and repeated entries, as `puppetserver ca prune --remove-expired --remove-duplicates` does; their serials stay used. With --show, change nothing and describe the current CRL(s), each entry with its reason."
    )]
    Crl(CrlArgs),

    /// Check the CA directory's consistency; --repair fixes what is safe to fix.
    #[command(
        long_about = "Check the CA directory: `serial` parses and is not behind the serial rule (one past every serial in inventory.txt, signed/ and the CRL) nor past 0x7FFFFFFF, Puppet's limit; every inventory line parses (Puppet's variants included) and the last is whole; every signed/NAME.pem is signed by this CA, carries CN=NAME and has an inventory line; no serial is used twice; no clusterca.journal is left by an interrupted batch (and every key file it names for a recorded certificate is there, whole and that certificate's key); no request is left beside its signed certificate; the CRL is signed by the CA and not expired; the CA certificate and the CRL do not expire within --warn-days (warnings), and certificates that do are noted; modes are no looser than Puppet's (CA key 0640 at most; nothing else writable by group or others). Serial gaps, CRL entries for serials never issued and temporary files left by an interrupted write are reported as info. An I/O error while reading is exit 4, not a finding. With --repair, under the store lock: finish the recorded part of an interrupted batch and drop the rest (an unreadable journal is moved aside), truncate a torn last inventory line, raise `serial` to the serial rule, append missing inventory lines for certificates in signed/, remove stale requests and temporary files, take from each mode the bits it may not have (a CA key at 0644 becomes 0640; on the open file, never through a symlink, and not on a file with other hard links), each change said as `chmod 0640 ca/ca_key.pem (was 0644)`; then check again under the same lock. Exit 0 when nothing above info remains, 1 otherwise. The protocol and every finding: docs/store.md."
    )]
    Check(CheckArgs),

    /// Audit a fleet's ssl directories: names, expiry, issuer, revocation, key match, modes.
    #[command(
        long_about = "Walk PATH... (collected or mounted ssl directories of the nodes; symlinks are not followed unless --follow), recognise certificates, private keys, CSRs and CRLs by content (PEM or DER, any file name), group them by node (a Puppet ssldir, or else a directory), and apply the rules: every non-CA certificate must carry each --expect-name, when given, in its subjectAltNames (the CN alone does not count; a *. wildcard covers one label) [name-missing], be issued by --ca (issuer name and signature) [foreign-issuer], and not be on --crl [revoked]; no certificate may be expired [expired] or expire within --warn-days [expiring, a warning], have an RSA key under 2048 bits [weak-key] or a SHA-1 signature [sha1-signature]; a CRL found on a node may not be past its nextUpdate [crl-expired], nor reach it within --warn-days or be older (a lower CRL number) than the --crl of its issuer [crl-stale, a warning]; an RSA private key under 2048 bits is [weak-key]; one issuer's serial may not appear on two different certificates [duplicate-serial]; a private key must match the certificate beside it (same node, same name: certs/x.pem and private_keys/x.pem, x.pem and x.key.pem, or the node's only certificate; compared by the public key the key file stores, which OpenSSL, Puppet and clusterca write, and derived from the private key where it stores none or with --check-keys) [key-mismatch], be no more open than Puppet's 0640 [key-readable], and be owned by a --key-owner when given [key-owner]. A file that promises PKI content (PEM, or a .pem/.crt/.key/... name) and does not parse is a finding [unparseable], as are symlink loops and dangling links [symlink-loop, dangling-symlink]. Exit 1 when a finding reaches --fail-on. A progress line goes to stderr when it is a terminal."
    )]
    Audit(AuditArgs),

    /// TLS-connect to live endpoints and report the certificates they present.
    #[command(
        long_about = "Connect to each TARGET (host:port) with TLS (rustls), capture the chain it presents even when it would not verify, and report per target: the distinct certificates seen (subject, alt names, serial, SHA-256 fingerprint, days to expiry, how many connections presented each), whether each verifies against --ca for every --expect-name, and whether they agree: one shared certificate, per-node certificates that all carry the expected names, or not. With --connections N each target is connected to N times, so a load balancer in round-robin shows its members. Unreachable targets, timeouts and failed handshakes are findings [unreachable, timeout, tls-handshake], as are certificates without the expected names [name-missing], not verifying against the CA [untrusted], expired or expiring [expired, expiring]. The SNI sent is --sni, else the first expected DNS name. Exit 1 when a finding reaches --fail-on."
    )]
    Probe(ProbeArgs),

    /// Verify a certificate as a TLS client would: chain to the CA, name, validity, CRL.
    #[command(
        long_about = "Verify FILE (a certificate, PEM or DER; certificates after the first in a PEM file are taken as intermediates) as a TLS client connecting to each --name would, with rustls' WebPKI verifier: the chain must lead to a certificate of --ca (by default the CA directory's ca_crt.pem; every certificate of the bundle is trusted), the time must be within the validity of each certificate, and the leaf must carry the name in its subjectAltNames (a DNS name or an IP address; the CN does not count). With --crl (by default the CA directory's ca_crl.pem, or a CRL file) the leaf must not be on its issuer's CRL, and that CRL must be there and not past its nextUpdate. Exit 0 when every name verifies, 1 when one does not (each reason printed), 2 for unreadable input. As `openssl verify -CAfile ca.pem -verify_hostname NAME [-crl_check -CRLfile crl.pem]` or `step certificate verify --roots ca.pem --host NAME`."
    )]
    Verify(VerifyArgs),

    /// Show the defaults in effect: from flags' built-ins, the config file or the environment.
    #[command(
        long_about = "Show the value each configurable default has now and where it came from: built-in, the config file ($CLUSTERCA_CONFIG, else /etc/clusterca/config.toml when it exists) or the environment (CLUSTERCA_DIR). The file is TOML with any of the keys dir, ttl, key_type, owner, group and hosts_file; each becomes the default of the options it names (dir: --dir of every command that has one; ttl: --ttl of issue, sign and submit; key_type: --key-type of issue; owner and group: --owner and --group of install, bundle and push; hosts_file: --hosts-file of push). A flag on the command line wins over the environment, which wins over the file. An unknown key or a bad value in the file is refused by every command, naming the file and the key."
    )]
    Config(ConfigArgs),

    /// Put a certname's certificate, key, CA bundle and CRL in place with exact owner and mode.
    #[command(
        long_about = "Install NAME's certificate and key (from --from, where `issue` wrote NAME.pem and NAME.key.pem, read without following a symlink; the certificate falls back to the CA's signed/NAME.pem; the key must be the certificate's key), the whole CA bundle (ca_crt.pem) and the CRL (ca_crl.pem) of the CA directory --dir. Layouts: puppet (--ssldir: certs/NAME.pem 0644, private_keys/NAME.pem 0640, certs/ca.pem 0644, crl.pem 0644; ssldir 0771, certs/ 0755, private_keys/ 0750), files (--cert/--key/--ca/--crl paths, --mode for the public files, --key-mode for the key), haproxy (--pem: certificate, CA chain and key in one 0600 file). Every target directory is opened once, and every create, chown, chmod and rename is done relative to that open directory, never following a symlink: a symlink at a final path or at a directory of the layout is refused (exit 2, naming it) before anything is written, and so is one that another user who owns the ssldir swaps in while install runs, so a root install cannot be redirected into another directory. Every write is atomic (a temporary file in the target directory with owner and mode set on the open file, fsync, rename, fsync of the directory); an unknown --owner or --group is refused before anything is written; modes do not depend on the umask; a file already right is reported unchanged and not touched, and one with the right content but another owner or mode is fixed on the open file, or written anew when it has other hard links (so no other file's owner or mode changes); --backup keeps NAME.bak.STAMP (.N when one of that second exists). Where SELinux is enabled and restorecon is present, the default contexts of what was written are restored."
    )]
    Install(InstallArgs),

    /// Print a self-contained POSIX sh script that does the same install on another machine.
    #[command(
        long_about = "Print a POSIX sh script (for dash, busybox sh, bash) that performs `install` with the same options on a machine without clusterca, to be run by root through sh or `ssh HOST sh -s`: the files are embedded, with the same modes, owners (by name, resolved on the target), symlink refusals and unchanged detection. The whole script is one function called on its last line, so a script cut off in transit changes nothing (exit 3). Each target directory is entered with `cd -P` and refused when a symbolic link is on the way, so that the unprivileged owner of the directories cannot redirect root's writes by swapping them. In each one that gets a file, the script makes a private directory, .clusterca-bundle (mkdir -m 700; refused when it already exists), writes the files there under umask 077, checks them against their SHA-256, sets their owner and mode, and moves them into place from there, the private key first, checking before and after each move that the file is still the one it wrote. The files are installed together or not at all: on any failure those already moved are put back. It exits 0 only when every file was installed, otherwise non-zero with one `clusterca-bundle: error: ...` line; its last line on success is `clusterca-bundle: NAME: N changed, M unchanged`."
    )]
    Bundle(BundleArgs),

    /// Run the install bundle on many hosts over ssh, in parallel.
    #[command(
        long_about = "Render the bundle of `bundle` for each host and run it there through the system ssh (`ssh -o BatchMode=yes [-o OPT]... HOST sh -s`, so ~/.ssh/config, agents and jump hosts apply), at most -j hosts at once. Hosts come from --host and from --hosts-file (one `HOST [ssldir=DIR] [pem=PATH] [cert=PATH] [key=PATH] [ca=PATH] [crl=PATH]` a line, `#` comments; the key=value parts override the install options for that host). HOST is anything ssh takes: host, user@host, ssh://user@host:port, a config alias. --then runs a command (by sh -c, on the host) only where something changed. Prints a result per host (changed, unchanged, failed: reason); exit 1 if any host failed."
    )]
    Push(PushArgs),

    /// Serve the Puppet CA HTTP API (/puppet-ca/v1) as the single active signer.
    #[command(
        long_about = "Serve Puppet Server's CA API over TLS from the CA directory --dir: certificate/{name|ca}, certificate_request/{name} (GET, PUT), certificate_status/{name} (GET, PUT desired_state signed|revoked, DELETE), certificate_statuses/{any}?state=, certificate_revocation_list/ca (If-Modified-Since), clean, expirations, certificate_renewal (with --allow-auto-renewal: a client's own certificate renewed, same key, --auto-renewal-ttl long), and /status/v1/simple/ca for load-balancer health checks (`running` on the active signer, `standby` otherwise). The server certificate --cert is issued by the CA on first start (with --alt-name) and kept in DIR/serve/. Authorization follows Puppet's default auth.conf: anyone may fetch certificates and the CRL and submit a CSR; status, sign, revoke and clean need a client certificate named by --admin or carrying pp_cli_auth. Autosign: true, false, a file of certnames and *.domain globs, or an executable (certname as argument, CSR on stdin, exit 0 signs); signing uses the policy of `sign`. Only one server signs: the active one holds DIR/clusterca.lease for its whole life; with --standby a second server waits, answering health checks and read-only GETs, and becomes active as soon as the active one exits or dies. CLI commands keep working beside it through the store lock. Request bodies are capped at 64 KiB (413), TLS handshakes and request headers at --header-timeout; SIGTERM finishes in-flight requests. The active server signs the CRL again when its nextUpdate comes within --crl-refresh; every CRL it signs is valid for --next-update. After `clusterca renew --ca`, restart it. One JSON access-log line per request goes to stderr."
    )]
    Serve(ServeArgs),

    /// Print a shell's completion script for clusterca (bash, zsh, fish, elvish, powershell).
    #[command(
        long_about = "Print the completion script of SHELL for clusterca to stdout: every command, option and fixed value. Install it where the shell looks (bash: /usr/share/bash-completion/completions/clusterca; zsh: a file named _clusterca in a directory of $fpath; fish: ~/.config/fish/completions/clusterca.fish) or load it into the running shell. The Debian package installs the bash, zsh and fish scripts."
    )]
    Completions(CompletionsArgs),

    /// Show the whole help of a command, with its examples.
    #[command(
        long_about = "Show the whole help of COMMAND (or of clusterca itself): what it does, every option, and examples that each say what they do. The same as `clusterca COMMAND --help`; `-h` shows the short form. The man pages hold the same text, one a command: clusterca-issue(1) for issue."
    )]
    Help(HelpArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct HelpArgs {
    /// The command to explain (none: clusterca itself).
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// The command line with everything clap's derive cannot say: the definitions above, as
/// `--help`, the man pages and the completions all see them.
pub fn command() -> clap::Command {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for name in names {
        // The whole help starts with the one line of the short help, then the paragraphs.
        cmd = cmd.mut_subcommand(name, |c| {
            match (
                c.get_about().map(|a| a.to_string()),
                c.get_long_about().map(|l| l.to_string()),
            ) {
                (Some(about), Some(long)) => c.long_about(format!("{about}\n\n{long}")),
                _ => c,
            }
        });
    }
    cmd
}

/// Parses `args` (the program's name first).
pub fn parse(args: &[std::ffi::OsString]) -> Result<Cli, clap::Error> {
    parse_with(args, &crate::config::Config::default())
}

/// Parses `args` with the defaults of a config file.
pub fn parse_with(
    args: &[std::ffi::OsString],
    config: &crate::config::Config,
) -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    crate::config::apply(command(), config)
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m))
}

/// After clap printed the help that `args` asked for: the examples to print below it, when
/// that was the whole help (`--help`, not `-h`). Printed apart because clap wraps what it
/// prints to the terminal's width, which would break a long command line in two.
pub fn examples_after_help(args: &[std::ffi::OsString]) -> Option<String> {
    if !args.iter().any(|a| a == "--help") {
        return None;
    }
    let cmd = command();
    let name = args
        .iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .find(|a| cmd.find_subcommand(a).is_some())
        .unwrap_or("");
    Some(crate::man::examples_text(name))
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "0.0.0.0:8140", value_name = "ADDR:PORT")]
    pub listen: String,

    /// Certname of the server's own certificate [default: this host's name].
    #[arg(long = "cert", value_name = "NAME")]
    pub cert_name: Option<String>,

    /// An alt name for the server certificate (the name agents use as ca_server); repeat, or
    /// separate with commas.
    #[arg(long = "alt-name", value_name = "NAME", value_delimiter = ',')]
    pub alt_names: Vec<String>,

    /// Autosign: true, false, a file of names and *.domain globs, or an executable. A name
    /// given in --admin and a request for pp_cli_auth are never autosigned.
    #[arg(long, default_value = "false", value_name = "true|false|FILE")]
    pub autosign: String,

    /// A client certname allowed to call the admin endpoints; repeat. Never autosigned; serve
    /// warns at start when the autosign setting covers one.
    #[arg(long = "admin", value_name = "NAME")]
    pub admins: Vec<String>,

    /// Wait as the standby when another server is the active signer (else exit 3).
    #[arg(long, conflicts_with = "shared")]
    pub standby: bool,

    /// Sign active/active beside other `serve --shared` on the same CA directory (local disk,
    /// or shared storage with coherent POSIX locks: NFSv4, CephFS, GFS2). Every member answers
    /// `running`; put them all in the load balancer's CA pool, round robin. Refused beside a
    /// `serve` without it (exit 3).
    #[arg(long)]
    pub shared: bool,

    /// Connections served at once.
    #[arg(long, default_value_t = 512, value_name = "N")]
    pub max_connections: usize,

    /// Connections from one client address (an IPv6 /64 counts as one) served at once (0: no
    /// cap); more wait for a slot (at most --header-timeout), and past four times this many
    /// waiting they are closed at once. Behind a TCP load balancer every agent has its
    /// address: raise this to --max-connections there and cap per client in the balancer.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub max_connections_per_address: usize,

    /// Deadline for a whole request, headers and body, counted from the connection's accept
    /// (or the previous answer on a kept-alive connection); a slower client gets 408 and is
    /// disconnected.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = duration)]
    pub request_timeout: Duration,

    /// Limit for a TLS handshake and for a request's headers, and the idle limit between
    /// requests on a kept-alive connection (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = duration)]
    pub header_timeout: Duration,

    /// Lifetime of each CRL the server signs (revoke, clean, refresh).
    #[arg(long, default_value = "5y", value_name = "TTL", value_parser = ttl)]
    pub next_update: Ttl,

    /// Sign the CRL again, same entries, when its nextUpdate is this close [default: a quarter
    /// of --next-update].
    #[arg(long, value_name = "TTL", value_parser = ttl)]
    pub crl_refresh: Option<Ttl>,

    /// Answer Puppet's certificate renewal (POST /puppet-ca/v1/certificate_renewal): a client
    /// with a valid certificate of this CA gets a renewed one, same key and extensions.
    #[arg(long)]
    pub allow_auto_renewal: bool,

    /// Lifetime of auto-renewed certificates (Puppet's auto-renewal-cert-ttl).
    #[arg(long, default_value = "90d", value_name = "TTL", value_parser = ttl)]
    pub auto_renewal_ttl: Ttl,

    #[command(flatten)]
    pub store: DirOpt,

    #[command(flatten)]
    pub lock: LockOpt,
}

/// Where `install` puts the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutKind {
    /// Puppet's ssldir (--ssldir).
    Puppet,
    /// Loose files (--cert, --key, --ca, --crl).
    Files,
    /// haproxy's combined PEM (--pem).
    Haproxy,
}

/// What `install`, `bundle` and `push` install, and where.
#[derive(Debug, Clone, Args)]
pub struct InstallOptions {
    /// The certname whose files are installed.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Layout of the target.
    #[arg(long, value_enum, default_value_t = LayoutKind::Puppet)]
    pub layout: LayoutKind,

    /// Where `issue` wrote NAME.pem and NAME.key.pem.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub from: PathBuf,

    /// The ssldir (puppet layout).
    #[arg(long, value_name = "DIR")]
    pub ssldir: Option<PathBuf>,

    /// Where the certificate goes (files layout).
    #[arg(long, value_name = "PATH")]
    pub cert: Option<PathBuf>,

    /// Where the private key goes (files layout).
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,

    /// Where the CA bundle goes (files layout).
    #[arg(long, value_name = "PATH")]
    pub ca: Option<PathBuf>,

    /// Where the CRL goes (files layout).
    #[arg(long, value_name = "PATH")]
    pub crl: Option<PathBuf>,

    /// Where the combined certificate + chain + key goes (haproxy layout).
    #[arg(long, value_name = "PATH")]
    pub pem: Option<PathBuf>,

    /// Owner of everything installed (name or uid) [default: the installing user].
    #[arg(long, value_name = "USER")]
    pub owner: Option<String>,

    /// Group of everything installed (name or gid) [default: the installing user's group].
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,

    /// Mode of the certificate, CA bundle and CRL (files layout), octal.
    #[arg(long, default_value = "0644", value_name = "MODE")]
    pub mode: String,

    /// Mode of the private key (files layout), octal.
    #[arg(long, default_value = "0600", value_name = "MODE")]
    pub key_mode: String,

    /// Keep a replaced file as FILE.bak.<timestamp>.
    #[arg(long)]
    pub backup: bool,

    /// Install the certificate, CA bundle and CRL only, no key: for a certificate signed from
    /// the node's own CSR, whose key never left the node (the key in place stays as it is).
    #[arg(long)]
    pub cert_only: bool,

    #[command(flatten)]
    pub store: DirOpt,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub opts: InstallOptions,

    /// Print what would be done; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    #[command(flatten)]
    pub opts: InstallOptions,

    /// A command to run (sh -c) at the end, only when something changed.
    #[arg(long, value_name = "CMD")]
    pub then: Option<String>,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub opts: InstallOptions,

    /// A host to install on (anything ssh takes); repeat.
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,

    /// More hosts, one `HOST [key=value]...` a line.
    #[arg(long, value_name = "FILE")]
    pub hosts_file: Option<PathBuf>,

    /// Hosts at once.
    #[arg(short = 'j', long, default_value_t = 8, value_name = "N")]
    pub jobs: usize,

    /// An ssh option (`-o OPT`), e.g. Port=2222 or StrictHostKeyChecking=accept-new; repeat.
    #[arg(long = "ssh-option", value_name = "OPT")]
    pub ssh_options: Vec<String>,

    /// A command to run on each host (sh -c) where something changed, e.g. a service reload.
    #[arg(long, value_name = "CMD")]
    pub then: Option<String>,
}

/// The finding severity that makes a reporting command exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any finding, notes included.
    Info,
    /// Warnings and errors.
    Warning,
    /// Errors only.
    Error,
    /// Never: always exit 0 when the command ran.
    Never,
}

/// What `audit` and `probe` judge certificates against.
#[derive(Debug, Args)]
pub struct Expectations {
    /// A name every (non-CA) certificate must be valid for: DNS:name, IP:address, or a bare
    /// name. Repeat, or separate with commas.
    /// (`probe` needs at least one; `audit` without one checks expiry, issuer, keys and modes.)
    #[arg(long = "expect-name", value_name = "NAME", value_delimiter = ',', value_parser = alt_name)]
    pub names: Vec<AltName>,

    /// The CA certificate or bundle (PEM or DER) certificates must be issued by.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,

    /// Certificates expiring within this many days are a warning.
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub warn_days: u32,

    /// Exit 1 when a finding of this severity or worse is found.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Directories or files to audit.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub expect: Expectations,

    /// A CRL or CRL chain (PEM or DER) to look serials up in.
    #[arg(long, value_name = "FILE")]
    pub crl: Option<PathBuf>,

    /// Follow symbolic links.
    #[arg(long)]
    pub follow: bool,

    /// A user allowed to own private keys (name or uid); repeat. Not checked when absent.
    #[arg(long = "key-owner", value_name = "USER")]
    pub key_owners: Vec<String>,

    /// Load every private key and derive its public key instead of reading the one the key
    /// file stores: finds a key file whose private half is damaged but whose public half is
    /// not (slower: a scalar multiplication or an RSA key check per key).
    #[arg(long)]
    pub check_keys: bool,

    /// Files scanned in parallel [default: the number of CPUs].
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The certificate to verify (PEM or DER), or `-` for standard input.
    #[arg(value_name = "FILE|-")]
    pub file: PathBuf,

    /// A DNS name or IP address the certificate must be valid for; repeat for several.
    #[arg(long = "name", value_name = "NAME", required = true, value_parser = alt_name)]
    pub names: Vec<AltName>,

    /// The trusted CA certificate or bundle [default: ca_crt.pem of --dir].
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,

    /// Check revocation: against FILE, or with no value against ca_crl.pem of --dir.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
    pub crl: Option<String>,

    #[command(flatten)]
    pub store: DirOpt,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Endpoints to connect to, host:port ([v6]:port for IPv6 addresses).
    #[arg(value_name = "TARGET", required_unless_present = "targets_file")]
    pub targets: Vec<String>,

    /// More endpoints, one host:port a line (`#` comments and blank lines skipped).
    #[arg(long, value_name = "FILE")]
    pub targets_file: Option<PathBuf>,

    #[command(flatten)]
    pub expect: Expectations,

    /// The server name to send (SNI) [default: the first expected DNS name].
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,

    /// Connections per target (a load balancer in round-robin shows its members).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub connections: usize,

    /// Limit for connecting and for the TLS handshake, per connection (e.g. 5s, 500ms).
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = duration)]
    pub timeout: Duration,

    /// Connections in flight at once.
    #[arg(short = 'j', long, default_value_t = 32, value_name = "N")]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The CSR files (PEM or DER).
    #[arg(value_name = "CSR-FILE", required = true)]
    pub csrs: Vec<PathBuf>,

    /// The certname to file a single CSR under [default: the CSR's CN].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Sign each request at once under the alt-name policy (as `serve --autosign true`);
    /// one the policy refuses is filed instead.
    #[arg(long)]
    pub sign: bool,

    /// Lifetime of the certificates --sign makes.
    #[arg(long, default_value = "5y", value_name = "TTL", requires = "sign", value_parser = ttl)]
    pub ttl: Ttl,

    #[command(flatten)]
    pub ca_end: CaEnd,

    #[command(flatten)]
    pub store: DirOpt,

    #[command(flatten)]
    pub lock: LockOpt,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// Certnames whose requests to sign.
    #[arg(
        value_parser = cert_name,
        value_name = "NAME",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub names: Vec<CertName>,

    /// Sign every queued request.
    #[arg(long)]
    pub all: bool,

    /// Allow alt names matching PATTERN (exact name, *.domain, or IP:address). Repeatable.
    #[arg(long = "allow-alt-name", value_name = "PATTERN")]
    pub allow_alt_names: Vec<String>,

    /// Certificate lifetime: a number with unit y, d, h, m or s.
    #[arg(long, default_value = "5y", value_name = "TTL", value_parser = ttl)]
    pub ttl: Ttl,

    #[command(flatten)]
    pub ca_end: CaEnd,

    #[command(flatten)]
    pub store: DirOpt,

    #[command(flatten)]
    pub lock: LockOpt,
}

/// The lifetime of a CRL that a command writes.
#[derive(Debug, Args)]
pub struct CrlLifetime {
    /// How long the new CRL is valid: a number with unit y, d, h, m or s.
    #[arg(long, default_value = "5y", value_name = "TTL", value_parser = ttl)]
    pub next_update: Ttl,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Certnames whose signed certificates to revoke.
    #[arg(value_name = "NAME", required_unless_present = "serials", value_parser = cert_name)]
    pub names: Vec<CertName>,

    /// A serial number to revoke, in hex (`0x1F` or `1F`). Repeatable. Refused when this CA
    /// never issued it (no inventory line, no file in signed/), unless --force.
    #[arg(long = "serial", value_name = "HEX")]
    pub serials: Vec<String>,

    /// Revoke a --serial even though this CA has no record of issuing it: for a CA imported
    /// with certificates it never recorded. The serial is then never handed out.
    #[arg(long, requires = "serials")]
    pub force: bool,

    /// Why: keyCompromise, superseded, cessationOfOperation, affiliationChanged or
    /// unspecified.
    #[arg(long, default_value = "keyCompromise", value_name = "REASON")]
    pub reason: String,

    #[command(flatten)]
    pub crl: CrlLifetime,

    #[command(flatten)]
    pub store: DirOpt,

    #[command(flatten)]
    pub lock: LockOpt,
}

#[derive(Debug, Args)]
pub struct RenewArgs {
    /// Certnames whose signed certificates to renew.
    #[arg(value_name = "NAME", required_unless_present_any = ["expiring_within", "all", "ca"], value_parser = cert_name)]
    pub names: Vec<CertName>,

    /// Renew every signed, unrevoked certificate that expires within this (e.g. 30d), the
    /// expired ones included.
    #[arg(long, value_name = "TTL", conflicts_with_all = ["names", "all", "ca"], value_parser = ttl)]
    pub expiring_within: Option<Ttl>,

    /// Renew every signed, unrevoked certificate.
    #[arg(long, conflicts_with_all = ["names", "ca"])]
    pub all: bool,

    /// Renew the CA certificate (same key) instead of leaves.
    #[arg(long, conflicts_with_all = ["names", "rekey", "out", "supersede"])]
    pub ca: bool,

    /// Lifetime of the new certificates [default: 5y; with --ca 15y].
    #[arg(long, value_name = "TTL", value_parser = ttl)]
    pub ttl: Option<Ttl>,

    /// Make a new key for each certificate (written to --out as NAME.key.pem, 0600).
    #[arg(long, requires = "out")]
    pub rekey: bool,

    /// Key type of the new keys with --rekey [default: the old key's type].
    #[arg(long, requires = "rekey", value_name = "TYPE", value_parser = key_type)]
    pub key_type: Option<KeyType>,

    /// Directory for the new certificates as NAME.pem (and keys with --rekey).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Revoke each old certificate with reason superseded.
    #[arg(long)]
    pub supersede: bool,

    #[command(flatten)]
    pub ca_end: CaEnd,

    #[command(flatten)]
    pub crl: CrlLifetime,

    #[command(flatten)]
    pub store: DirOpt,

    #[command(flatten)]
    pub lock: LockOpt,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Certnames to revoke and remove.
    #[arg(required = true, value_name = "NAME", value_parser = cert_name)]
    pub names: Vec<CertName>,

    #[command(flatten)]
    pub crl: CrlLifetime,

    #[command(flatten)]
    pub store: DirOpt,

    #[command(flatten)]
    pub lock: LockOpt,
}

#[derive(Debug, Args)]
pub struct CrlArgs {
    #[command(flatten)]
    pub crl: CrlLifetime,

    /// Describe the current CRL(s) instead of reissuing.
    #[arg(long, conflicts_with = "prune")]
    pub show: bool,

    /// Drop the entries of expired certificates and repeated entries, then reissue.
    #[arg(long)]
    pub prune: bool,

    #[command(flatten)]
    pub store: DirOpt,

    #[command(flatten)]
    pub lock: LockOpt,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Fix what is safe to fix (under the store lock), then check again.
    #[arg(long)]
    pub repair: bool,

    /// Warn about a CA certificate or CRL that expires within this many days, and note the
    /// certificates that do.
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub warn_days: u32,

    #[command(flatten)]
    pub store: DirOpt,

    #[command(flatten)]
    pub lock: LockOpt,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The CA certificate's common name [default: "Puppet CA: <hostname>"].
    #[arg(long, value_name = "NAME")]
    pub ca_name: Option<String>,

    /// Key type of the CA key (and the root's): ec-p256, ec-p384, ed25519, rsa-2048, rsa-3072
    /// or rsa-4096. Puppet Server 7 can sign only with an RSA CA key [default: ec-p256;
    /// rsa-4096 with --puppet].
    #[arg(long, value_name = "TYPE", value_parser = key_type)]
    pub key_type: Option<KeyType>,

    /// Make what `puppetserver ca setup` makes, so that Puppet Server 7 runs its CA service on
    /// the directory: an RSA root ("Puppet Root CA: <random hex>", root_key.pem) and the
    /// intermediate that signs (ca_crt.pem = intermediate then root, ca_crl.pem = both CRLs),
    /// with Puppet's extensions, and Puppet's infra_* files. Puppet Server signs its own host
    /// certificate (serial 2) when it first starts.
    #[arg(long)]
    pub puppet: bool,

    /// Make a root and an intermediate that signs (pathlen 0): ca_crt.pem = intermediate then
    /// root, ca_crl.pem = both CRLs. The root key goes to --root-key-out only: keep it offline.
    #[arg(long, requires = "root_key_out", conflicts_with = "puppet")]
    pub chain: bool,

    /// Where --chain writes the root's private key (a new file, 0600; never inside --dir).
    /// With --puppet, instead of root_key.pem in the CA directory.
    #[arg(long, value_name = "FILE")]
    pub root_key_out: Option<PathBuf>,

    /// The root's common name with --chain or --puppet [default: "Puppet Root CA: <random
    /// hex>" with --puppet, "Root CA: <random hex>" with --chain].
    #[arg(long, value_name = "NAME")]
    pub root_name: Option<String>,

    /// Lifetime of the CA certificate: a number with unit y, d, h, m or s.
    #[arg(long, default_value = "15y", value_name = "TTL", value_parser = ttl)]
    pub ttl: Ttl,

    #[command(flatten)]
    pub store: DirOpt,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CA certificate, or a bundle with the issuing CA first (PEM or DER); creates --dir.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,

    /// The CA's private key (PKCS#8, PKCS#1 or SEC1; PEM or DER).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// The CA's CRL, or a CRL chain with the CA's own CRL first [default: a new empty CRL].
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub crl: Option<PathBuf>,

    /// The next serial to issue, in hex [default: one past the highest serial on the CRL, at
    /// least 2]. Pick one above every serial the CA has issued before.
    #[arg(long, value_name = "HEX", requires = "cert")]
    pub next_serial: Option<String>,

    #[command(flatten)]
    pub store: DirOpt,

    #[command(flatten)]
    pub lock: LockOpt,
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Certnames to issue for (lowercase; each becomes CN=NAME and DNS:NAME).
    #[arg(value_name = "NAME", required_unless_present = "from_file")]
    pub names: Vec<String>,

    /// Read more certnames from FILE: one `NAME [ALT...]` per line, `#` comments allowed. The
    /// line's alt names are added to that certificate only; --alt-name applies to all.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,

    /// An extra subjectAltName for every certificate: DNS:name, IP:address, or a bare name
    /// (an address if it parses as one). Repeat, or separate with commas.
    #[arg(long = "alt-name", value_name = "NAME", value_delimiter = ',')]
    pub alt_names: Vec<String>,

    /// Certificate lifetime: a number with unit y, d, h, m or s.
    #[arg(long, default_value = "5y", value_name = "TTL", value_parser = ttl)]
    pub ttl: Ttl,

    /// Key type of the new keys: ec-p256, ec-p384, ed25519, rsa-2048, rsa-3072 or rsa-4096.
    #[arg(long, default_value = "ec-p256", value_name = "TYPE", value_parser = key_type)]
    pub key_type: KeyType,

    /// Directory for NAME.key.pem (0600) and NAME.pem (0644).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,

    /// Allow wildcard alt names such as *.example.net (risky: any host in the domain).
    #[arg(long)]
    pub allow_wildcard: bool,

    #[command(flatten)]
    pub ca_end: CaEnd,

    #[command(flatten)]
    pub store: DirOpt,

    #[command(flatten)]
    pub lock: LockOpt,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A file (PEM or DER; a bundle shows every block), `-` for standard input, or a certname
    /// in the CA directory.
    #[arg(value_name = "FILE|-|NAME")]
    pub target: String,

    /// With a private key: the certificate to check it against.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    #[command(flatten)]
    pub store: DirOpt,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only these certnames, in any state (`puppetserver ca list --certname`); one that has
    /// neither a request nor a certificate is named on stderr, and the exit status is 1.
    #[arg(value_name = "NAME", value_parser = cert_name)]
    pub names: Vec<CertName>,

    /// Also list signed, expired and revoked certnames, not only pending requests.
    #[arg(long)]
    pub all: bool,

    /// Only certificates that expire within this (e.g. 30d; expired ones included, revoked
    /// ones not).
    #[arg(long, value_name = "TTL", value_parser = ttl)]
    pub expiring: Option<Ttl>,

    #[command(flatten)]
    pub store: DirOpt,
}

// The value parsers: each option's text becomes its typed value here, at the edge, and a bad
// one is refused by clap with the parser's sentence (rendered on one line by `main`).

fn ttl(text: &str) -> Result<Ttl, String> {
    text.parse()
        .map_err(|e: clusterca_pki::Error| e.to_string())
}

fn key_type(text: &str) -> Result<KeyType, String> {
    text.parse()
        .map_err(|e: clusterca_pki::Error| e.to_string())
}

fn cert_name(text: &str) -> Result<CertName, String> {
    text.parse()
        .map_err(|e: clusterca_pki::Error| e.to_string())
}

fn alt_name(text: &str) -> Result<AltName, String> {
    text.parse()
        .map_err(|e: clusterca_pki::Error| e.to_string())
}

fn duration(text: &str) -> Result<Duration, String> {
    crate::cmd::parse_duration(text).map_err(|f| f.message)
}
