//! The manual: each command's examples (each saying what it does), and the man pages rendered
//! from the clap definitions plus those examples, the exit codes, the environment, the files
//! and the related pages. `--help` prints the same examples after clap's help, never
//! wrapped, so that each one can be copied whole; `cargo xtask man` writes the pages and
//! `tests/man.rs` fails when `man/` is stale or a page lacks a section.

use std::io::Write;

use clap::Command;

/// One example: what it does, and the command line.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// What it does, one sentence.
    pub what: &'static str,
    /// The command line, as typed.
    pub line: &'static str,
}

const fn ex(what: &'static str, line: &'static str) -> Example {
    Example { what, line }
}

/// Every command's examples (`""`: `clusterca` itself).
const EXAMPLES: &[(&str, &[Example])] = &[
        ("", &[
            ex(
                "Make a CA in ./ca, laid out as Puppet Server's cadir",
                "clusterca init --dir ./ca",
            ),
            ex(
                "One certificate for the shared name, with the short name as an alt name, key and certificate in ./pki",
                "clusterca issue puppet.example.net --alt-name puppet --out ./pki",
            ),
            ex(
                "One certificate per node, each also valid for the shared name",
                "clusterca issue proxy01.example.net proxy02.example.net --alt-name smartproxy.example.net --out ./pki",
            ),
            ex("Every certificate of the CA, for a script", "clusterca list --all --format json"),
        ]),
        ("init", &[
            ex(
                "The CA Puppet Server itself would make (RSA-4096 root and intermediate), in its cadir",
                "clusterca init --dir /etc/puppetlabs/puppetserver/ca --ca-name 'Puppet CA: puppet.example.net' --puppet",
            ),
            ex(
                "A root and an intermediate, the root key kept offline, not in the CA directory",
                "clusterca init --dir ca --chain --root-key-out /media/offline/root_key.pem",
            ),
            ex(
                "A P-384 CA valid for 20 years, the directory taken from the environment",
                "CLUSTERCA_DIR=./ca clusterca init --key-type ec-p384 --ttl 20y",
            ),
        ]),
        ("import", &[
            ex(
                "Adopt Puppet Server's cadir where it is, rewriting nothing",
                "clusterca import --dir /etc/puppetlabs/puppetserver/ca",
            ),
            ex(
                "Make a CA directory from a CA certificate, key and CRL made with OpenSSL",
                "clusterca import --dir ./ca --cert ca.crt --key ca.key --crl ca.crl",
            ),
            ex(
                "The same from a bundle, the next certificate to get serial 1000",
                "clusterca import --dir ./ca --cert bundle.pem --key ca.key --next-serial 1000",
            ),
        ]),
        ("issue", &[
            ex(
                "One shared certificate for the load-balanced name, key and certificate in ./pki",
                "clusterca issue puppet.example.net --alt-name puppet --alt-name DNS:puppet.example.net --out ./pki",
            ),
            ex(
                "Per-node certificates, each also valid for the shared name and its address",
                "clusterca issue proxy01.example.net proxy02.example.net --alt-name smartproxy.example.net --alt-name IP:192.0.2.10 --out ./pki",
            ),
            ex(
                "Many at once: nodes.txt has a certname and its alt names on each line",
                "clusterca issue --from-file nodes.txt --out ./pki",
            ),
        ]),
        ("show", &[
            ex("Describe a certificate file", "clusterca show puppet.example.net.pem"),
            ex(
                "Describe what a server presents, read from standard input",
                "openssl s_client -connect puppet.example.net:8140 -showcerts </dev/null | clusterca show -",
            ),
            ex(
                "Say whether a key matches a certificate (the key itself is never shown)",
                "clusterca show puppet.example.net.key.pem --cert puppet.example.net.pem",
            ),
            ex(
                "The CA's copy of a certname's certificate, for a script",
                "clusterca show puppet.example.net --format json",
            ),
        ]),
        ("list", &[
            ex("The requests waiting to be signed", "clusterca list"),
            ex("Every certname: requested, signed, revoked and expired", "clusterca list --all"),
            ex(
                "Two certnames, whatever their state (exit 1 if one is unknown)",
                "clusterca list web01.example.net web02.example.net",
            ),
            ex(
                "The certificates that expire within 30 days, for a script",
                "clusterca list --expiring 30d --format json",
            ),
        ]),
        ("submit", &[
            ex("Queue a CSR under its CN, for an admin to sign", "clusterca submit node1.csr"),
            ex(
                "Queue a CSR under a name given here (it must be the CSR's CN)",
                "clusterca submit node1.csr --name node1.example.net",
            ),
            ex(
                "Sign a directory of CSRs at once under the alt-name policy; refused ones are queued",
                "clusterca submit --sign csrs/*.csr",
            ),
        ]),
        ("sign", &[
            ex("Sign one queued request", "clusterca sign node1.example.net"),
            ex(
                "Sign every queued request, allowing the shared name and any name under a pool domain",
                "clusterca sign --all --allow-alt-name smartproxy.example.net --allow-alt-name '*.pool.example.net'",
            ),
        ]),
        ("renew", &[
            ex(
                "Renew one certificate with the same key; the new one also goes to ./pki",
                "clusterca renew puppet.example.net --out ./pki",
            ),
            ex(
                "Renew every certificate that expires within 30 days and revoke the old ones",
                "clusterca renew --expiring-within 30d --supersede",
            ),
            ex(
                "Renew with a new key, written to ./pki",
                "clusterca renew proxy01.example.net --rekey --out ./pki",
            ),
            ex("Renew the CA certificate itself, for 15 more years", "clusterca renew --ca --ttl 15y"),
        ]),
        ("revoke", &[
            ex("Revoke every valid certificate of a certname", "clusterca revoke proxy02.example.net"),
            ex("Revoke two serials, in hex with or without 0x (0x1F and 0x20)", "clusterca revoke --serial 0x1F --serial 20"),
            ex(
                "Revoke a serial this CA has no record of issuing",
                "clusterca revoke --serial 0x7A --force",
            ),
            ex(
                "Revoke with a reason other than keyCompromise",
                "clusterca revoke old.example.net --reason cessationOfOperation",
            ),
        ]),
        ("clean", &[
            ex(
                "Revoke a node's certificates and remove them, so the name can be issued again",
                "clusterca clean web03.example.net",
            ),
            ex("The same for two nodes, reporting in JSON", "clusterca clean web03.example.net web04.example.net --format json"),
        ]),
        ("crl", &[
            ex("Sign the CRL again, valid for 90 days", "clusterca crl --next-update 90d"),
            ex(
                "Drop the entries of expired certificates no longer in signed/",
                "clusterca crl --prune",
            ),
            ex("Describe the CRL and its entries, for a script", "clusterca crl --show --format json"),
        ]),
        ("check", &[
            ex("Check the CA directory in ./ca", "clusterca check"),
            ex(
                "Finish an interrupted batch and fix what can be fixed, reporting in JSON",
                "clusterca check --repair --format json",
            ),
            ex(
                "Also warn about the CA certificate and CRL expiring within 90 days",
                "clusterca check --warn-days 90",
            ),
        ]),
        ("audit", &[
            ex(
                "Audit the ssl directories collected from every node against the CA and its CRL",
                "clusterca audit /srv/collected/*/ssl --expect-name puppet.example.net --ca ca/ca_crt.pem --crl ca/ca_crl.pem",
            ),
            ex(
                "Audit mounted node directories, warning 60 days ahead, for a script",
                "clusterca audit /mnt/nodes --expect-name smartproxy.example.net --warn-days 60 --format json",
            ),
            ex(
                "Fail on warnings too, and require keys owned by puppet or root",
                "clusterca audit /etc/puppetlabs/puppet/ssl --expect-name puppet --key-owner puppet --key-owner root --fail-on warning",
            ),
        ]),
        ("probe", &[
            ex(
                "Ask the load balancer 12 times and check every member's certificate",
                "clusterca probe lb.example.net:8140 --expect-name puppet.example.net --ca ca/ca_crt.pem --connections 12",
            ),
            ex(
                "Probe every endpoint of a file, one host:port a line",
                "clusterca probe --targets-file endpoints.txt --expect-name www.example.net",
            ),
            ex(
                "Probe three web servers, for a script",
                "clusterca probe web1:443 web2:443 web3:443 --expect-name www.example.net --format json",
            ),
        ]),
        ("verify", &[
            ex(
                "Check that a certificate is this CA's, current, and valid for the shared name",
                "clusterca verify pki/puppet.example.net.pem --name puppet.example.net",
            ),
            ex(
                "The same, also for the short name and the address, and not revoked",
                "clusterca verify pki/puppet.example.net.pem --name puppet --name 192.0.2.10 --crl",
            ),
            ex(
                "Verify a certificate from elsewhere against a CA bundle and CRL file, for a script",
                "clusterca verify server.pem --name www.example.net --ca ca.pem --crl crl.pem --format json",
            ),
        ]),
        ("config", &[
            ex("Show the defaults in effect and where each came from", "clusterca config"),
            ex(
                "Use a config file of your own for one command",
                "CLUSTERCA_CONFIG=./clusterca.toml clusterca issue web1.example.net",
            ),
        ]),
        ("install", &[
            ex(
                "Install a node's certificate, key, CA and CRL into its Puppet ssldir",
                "clusterca install puppet01.example.net --ssldir /etc/puppetlabs/puppet/ssl --owner puppet --group puppet",
            ),
            ex(
                "Install into the paths a Foreman smart proxy reads",
                "clusterca install proxy01.example.net --layout files --cert /etc/foreman-proxy/ssl/cert.pem --key /etc/foreman-proxy/ssl/key.pem --ca /etc/foreman-proxy/ssl/ca.pem --key-mode 0640 --group foreman-proxy",
            ),
            ex(
                "Install a certificate signed from the node's own CSR (its key never left the node)",
                "clusterca install agent01.example.net --ssldir /etc/puppetlabs/puppet/ssl --owner puppet --group puppet --cert-only",
            ),
            ex(
                "Show what an haproxy PEM install would change, changing nothing",
                "clusterca install web1.example.net --layout haproxy --pem /etc/haproxy/certs/web1.pem --dry-run",
            ),
        ]),
        ("bundle", &[
            ex(
                "Write a self-contained install script for one node",
                "clusterca bundle puppet01.example.net --ssldir /etc/puppetlabs/puppet/ssl --owner puppet --group puppet > install-puppet01.sh",
            ),
            ex("Run it on the node", "ssh root@puppet01 sh -s < install-puppet01.sh"),
        ]),
        ("push", &[
            ex(
                "Install the shared certificate on two servers over SSH, reloading where it changed",
                "clusterca push puppet.example.net --host root@puppet01 --host root@puppet02 --ssldir /etc/puppetlabs/puppet/ssl --owner puppet --group puppet --then 'systemctl reload puppetserver'",
            ),
            ex(
                "Push to every host of a file, 16 at a time",
                "clusterca push smartproxy.example.net --hosts-file proxies.txt -j 16 --ssh-option ConnectTimeout=5",
            ),
        ]),
        ("serve", &[
            ex(
                "Serve Puppet's CA API on port 8141 as the active signer",
                "clusterca serve --dir /etc/puppetlabs/puppetserver/ca --listen 0.0.0.0:8141 --cert ca01.example.net --alt-name puppet-ca.example.net --admin admin.example.net",
            ),
            ex(
                "A standby on shared storage, autosigning the names of a file",
                "clusterca serve --dir /srv/shared/ca --listen 0.0.0.0:8141 --cert ca02.example.net --alt-name puppet-ca.example.net --standby --autosign /etc/clusterca/autosign.conf",
            ),
            ex(
                "One of several active signers behind a load balancer",
                "clusterca serve --dir /srv/shared/ca --listen 0.0.0.0:8141 --cert ca03.example.net --alt-name puppet-ca.example.net --shared",
            ),
        ]),
        ("completions", &[
            ex(
                "Install bash completions for every user",
                "clusterca completions bash > /usr/share/bash-completion/completions/clusterca",
            ),
            ex("Load zsh completions into the running shell", "source <(clusterca completions zsh)"),
        ]),
        ("help", &[
            ex("The full help of issue, examples included", "clusterca help issue"),
        ]),
];

/// The examples of the subcommand `name` (`""` for `clusterca` itself).
pub fn examples(name: &str) -> &'static [Example] {
    EXAMPLES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(&[], |(_, e)| e)
}

/// The examples of `name` as `--help` prints them: each line whole, never wrapped.
pub fn examples_text(name: &str) -> String {
    let mut out = String::from("Examples:\n");
    for e in examples(name) {
        out.push_str(&format!("  # {}\n  {}\n\n", e.what, e.line));
    }
    out
}

/// The exit codes (DESIGN.md, "Errors and exit codes").
pub const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success."),
    (
        "1",
        "The command ran and found problems (check, audit, probe, verify, a refused request of sign --all).",
    ),
    ("2", "Bad usage or bad input: the message names the input and the problem; nothing was written."),
    ("3", "The CA store is busy: another signer held its lock past --lock-timeout, or holds the serve lease."),
    ("4", "An I/O or system error (permission denied, disk full, ...)."),
];

/// The environment clusterca reads.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "CLUSTERCA_DIR",
        "The CA directory when --dir is not given (default: ca).",
    ),
    (
        "CLUSTERCA_CONFIG",
        "The config file of defaults (default: /etc/clusterca/config.toml, when it exists); see clusterca-config(1).",
    ),
    (
        "NO_COLOR",
        "When set and not empty, no color in clusterca's own output (there is none either when stdout is not a terminal).",
    ),
];

/// The files of a CA directory, as Puppet Server lays out its cadir.
pub const FILES: &[(&str, &str)] = &[
    (
        "/etc/clusterca/config.toml",
        "Optional defaults (dir, ttl, key_type, owner, group, hosts_file); see clusterca-config(1).",
    ),
    (
        "DIR/ca_crt.pem",
        "The CA certificate (an intermediate followed by its root, for a chain).",
    ),
    (
        "DIR/ca_key.pem",
        "The CA's private key (0640 when the puppet group owns it, else 0600).",
    ),
    (
        "DIR/ca_crl.pem",
        "The CRL (this CA's first, then its issuers').",
    ),
    ("DIR/serial", "The next serial number, in hex."),
    (
        "DIR/inventory.txt",
        "One line per certificate issued: serial, validity, subject.",
    ),
    ("DIR/signed/NAME.pem", "The certificate of each certname."),
    (
        "DIR/requests/NAME.pem",
        "Certificate signing requests waiting for an admin.",
    ),
    (
        "DIR/clusterca.lock",
        "The store lock, held while the serial and inventory change.",
    ),
    (
        "DIR/clusterca.journal",
        "Present only after an interrupted batch; check --repair finishes it.",
    ),
];

/// The pages related to `name`.
fn see_also(name: &str) -> Vec<String> {
    let related: &[&str] = match name {
        "" => &[],
        "init" | "import" => &["issue", "check", "serve"],
        "issue" => &["renew", "revoke", "install", "push"],
        "show" | "list" => &["check", "audit"],
        "submit" | "sign" => &["list", "serve"],
        "renew" => &["issue", "revoke", "push"],
        "revoke" | "clean" | "crl" => &["list", "check"],
        "check" => &["list", "import"],
        "audit" | "probe" => &["check", "show", "verify"],
        "verify" => &["show", "probe", "audit"],
        "config" => &["issue", "install", "push"],
        "install" | "bundle" | "push" => &["install", "bundle", "push"],
        "serve" => &["sign", "submit", "check"],
        _ => &[],
    };
    let mut pages: Vec<String> = std::iter::once("clusterca(1)".to_owned())
        .filter(|_| !name.is_empty())
        .chain(
            related
                .iter()
                .filter(|r| **r != name)
                .map(|r| format!("clusterca-{r}(1)")),
        )
        .collect();
    pages.push("openssl(1)".to_owned());
    pages
}

/// Text for roff: backslashes escaped, and no line may start with a control character.
fn roff(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    text.lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The sections clap_mangen does not make: EXAMPLES, EXIT STATUS, ENVIRONMENT, FILES, SEE
/// ALSO.
fn extra_sections(out: &mut Vec<u8>, name: &str) -> std::io::Result<()> {
    writeln!(out, ".SH EXAMPLES")?;
    for e in examples(name) {
        writeln!(
            out,
            ".PP\n{}\n.PP\n.RS 4\n.nf\n{}\n.fi\n.RE",
            roff(e.what),
            roff(e.line)
        )?;
    }
    let table = |out: &mut Vec<u8>, title: &str, rows: &[(&str, &str)]| -> std::io::Result<()> {
        writeln!(out, ".SH {title}")?;
        for (term, text) in rows {
            writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(term), roff(text))?;
        }
        Ok(())
    };
    table(out, "EXIT STATUS", EXIT_STATUS)?;
    table(out, "ENVIRONMENT", ENVIRONMENT)?;
    table(out, "FILES", FILES)?;
    writeln!(out, ".SH \"SEE ALSO\"")?;
    let pages: Vec<String> = see_also(name)
        .iter()
        .map(|p| {
            let (page, section) = p.split_once('(').unwrap_or((p, "1)"));
            format!("\\fB{}\\fR({section}", roff(page))
        })
        .collect();
    writeln!(out, "{}", pages.join(",\n"))?;
    Ok(())
}

/// One page: NAME, SYNOPSIS, DESCRIPTION, OPTIONS (and, for `clusterca`, SUBCOMMANDS), then
/// [`extra_sections`] and VERSION.
fn render(cmd: Command, name: &str) -> std::io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut out)?;
    }
    extra_sections(&mut out, name)?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// Every man page as (file name, roff bytes), in a stable order: `clusterca.1`, then
/// `clusterca-NAME.1` for each subcommand.
pub fn render_all(cmd: Command) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = cmd;
    cmd.build();
    let mut pages = vec![(format!("{}.1", cmd.get_name()), render(cmd.clone(), "")?)];
    for sub in cmd.get_subcommands() {
        let name = format!("{}-{}", cmd.get_name(), sub.get_name());
        let page = render(sub.clone().name(name.clone()), sub.get_name())?;
        pages.push((format!("{name}.1"), page));
    }
    Ok(pages)
}
