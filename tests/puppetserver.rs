//! The round trip with the real programs: a cadir made by `puppetserver ca setup` (the
//! committed fixture) is imported and signed into by clusterca; then a real Puppet Server
//! (Debian's `puppetserver`, on a loopback port) runs on that directory, lists clusterca's
//! certificates, signs the next CSR with the next serial and revokes one of ours; clusterca
//! accepts what it wrote and signs a CSR made by a real agent, which the agent then downloads
//! and verifies. Needs `apt-get install puppetserver ruby-puppetserver-ca-cli puppet-agent`.

mod common;

use common::puppet::{self, Server};
use common::Scratch;

fn inventory_line(s: &Scratch, cn: &str) -> String {
    s.read("ca/inventory.txt")
        .lines()
        .find(|l| l.ends_with(&format!(" /CN={cn}")))
        .unwrap_or_else(|| {
            panic!(
                "no inventory line for {cn}:\n{}",
                s.read("ca/inventory.txt")
            )
        })
        .to_owned()
}

#[test]
fn puppet_server_and_clusterca_share_one_ca_directory() {
    if !puppet::available() {
        return;
    }
    let s = Scratch::new();
    common::copy_puppet_fixture(&s, "ca");
    common::copy_puppet_fixture(&s, "ssl");
    s.run(&["import"]).ok();
    std::fs::create_dir_all(s.path("out")).unwrap();
    s.run(&[
        "issue",
        "web1.example.net",
        "web2.example.net",
        "--alt-name",
        "puppet.example.net",
        "--out",
        "out",
    ])
    .ok();
    for cert in ["out/web1.example.net.pem", "out/web2.example.net.pem"] {
        let v = s.verify(cert, "-verify_hostname", "puppet.example.net");
        assert_eq!(v.code, 0, "{cert}: {}{}", v.stdout, v.stderr);
    }
    assert_eq!(s.read("ca/serial"), "0005");

    let server = Server::start(&s);

    // Puppet Server lists what clusterca signed.
    let list = server.ca(&["list", "--all"]);
    assert_eq!(list.code, 0, "{}{}", list.stdout, list.stderr);
    for name in [
        "web1.example.net",
        "web2.example.net",
        "puppet01.example.net",
    ] {
        assert!(
            list.stdout.contains(name),
            "{name} not listed:\n{}",
            list.stdout
        );
    }
    assert!(
        list.stdout.contains("DNS:puppet.example.net"),
        "{}",
        list.stdout
    );

    // A real agent asks; Puppet Server signs: the next serial, 5.
    let submitted = server.agent(&s, "node9.example.net", "submit_request", "---\n");
    assert_eq!(
        submitted.code,
        0,
        "{}{}\n{}",
        submitted.stdout,
        submitted.stderr,
        server.log()
    );
    let signed = server.ca(&["sign", "--certname", "node9.example.net"]);
    assert_eq!(signed.code, 0, "{}{}", signed.stdout, signed.stderr);
    assert!(
        inventory_line(&s, "node9.example.net").starts_with("0x0005 "),
        "{}",
        s.read("ca/inventory.txt")
    );
    assert_eq!(s.read("ca/serial"), "0006");
    let v = s.verify(
        "ca/signed/node9.example.net.pem",
        "-verify_hostname",
        "node9.example.net",
    );
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);

    // Puppet Server revokes one of ours: it rewrites the CRL, clusterca reads it.
    let revoked = server.ca(&["revoke", "--certname", "web2.example.net"]);
    assert_eq!(revoked.code, 0, "{}{}", revoked.stdout, revoked.stderr);
    let v = s.crl_verify("out/web2.example.net.pem", &[]);
    assert!(
        v.stderr.contains("certificate revoked"),
        "{}{}",
        v.stdout,
        v.stderr
    );
    let list = s.run(&["list", "--all"]).ok().stdout;
    assert!(
        list.lines()
            .any(|l| l.starts_with("web2.example.net") && l.contains("revoked")),
        "{list}"
    );

    // clusterca accepts everything Puppet Server wrote.
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);

    // A real agent's CSR, with pp_* extensions from csr_attributes.yaml and dns_alt_names,
    // signed by clusterca beside the running server: serial 6.
    let attrs = "---\nextension_requests:\n  pp_role: webserver\n  pp_datacenter: dc1\n";
    let submitted = server.agent(&s, "node10.example.net", "submit_request", attrs);
    assert_eq!(
        submitted.code, 0,
        "{}{}",
        submitted.stdout, submitted.stderr
    );
    assert!(s.path("ca/requests/node10.example.net.pem").exists());
    s.run(&["sign", "node10.example.net"]).ok();
    assert!(inventory_line(&s, "node10.example.net").starts_with("0x0006 "));
    let text = s.x509_text("ca/signed/node10.example.net.pem");
    // pp_role (1.3.6.1.4.1.34380.1.1.13) and pp_datacenter (.1.1.19), copied.
    assert!(text.contains("1.3.6.1.4.1.34380.1.1.13:"), "{text}");
    assert!(text.contains("webserver") && text.contains("dc1"), "{text}");
    // The agent downloads it from Puppet Server and verifies it against its key and CA.
    let downloaded = server.agent(&s, "node10.example.net", "download_cert", attrs);
    assert_eq!(
        downloaded.code, 0,
        "{}{}",
        downloaded.stdout, downloaded.stderr
    );
    let verified = server.agent(&s, "node10.example.net", "verify", attrs);
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
    let list = server.ca(&["list", "--all"]);
    assert!(
        list.stdout.contains("node10.example.net"),
        "{}",
        list.stdout
    );

    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
}

/// The highest serial of the inventory's lines.
fn highest_inventory_serial(s: &Scratch) -> u64 {
    s.read("ca/inventory.txt")
        .lines()
        .filter_map(|l| l.split(' ').next())
        .filter_map(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok())
        .max()
        .unwrap_or(0)
}

/// The round trip on a directory made by `clusterca init INIT...`: the real Puppet
/// Server starts on it with no host certificate of its own (and signs one), an agent
/// bootstraps with autosign, `puppetserver ca list --all`, `sign` and `revoke` work; then,
/// with the server stopped, `check` is clean, `issue` continues the serials, and `clusterca
/// serve` on the same directory serves an agent that Puppet Server signed.
fn puppet_server_runs_its_ca_on(init: &[&str], host_serial: u64) {
    if !puppet::available() {
        return;
    }
    let s = Scratch::new();
    let mut args = vec!["init", "--ca-name", "Puppet CA: puppet.example.net"];
    args.extend_from_slice(init);
    s.run(&args).ok();
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    assert!(
        !check.stdout.contains("puppet-cannot-sign"),
        "{}",
        check.stdout
    );
    std::fs::write(s.path("autosign.conf"), "node1.example.net\n").unwrap();
    let server = Server::start_with(
        &s,
        &format!(
            "autosign = {}\ndns_alt_names = localhost,puppet.example.net\n",
            s.path("autosign.conf").display()
        ),
    );

    // Puppet Server signed its own host certificate with the CA, with the next serial.
    let host = "ssl/certs/puppet01.example.net.pem";
    let v = s.crl_verify(host, &["-verify_hostname", "localhost"]);
    assert_eq!(v.code, 0, "{}{}\n{}", v.stdout, v.stderr, server.log());
    assert!(
        inventory_line(&s, "puppet01.example.net").starts_with(&format!("0x{host_serial:04x} ")),
        "{}",
        s.read("ca/inventory.txt")
    );

    // An agent bootstraps through it: autosigned.
    let boot = server.agent(&s, "node1.example.net", "bootstrap", "---\n");
    assert_eq!(
        boot.code,
        0,
        "{}{}\n{}",
        boot.stdout,
        boot.stderr,
        server.log()
    );
    let v = s.crl_verify(
        "agents/node1.example.net/ssl/certs/node1.example.net.pem",
        &[],
    );
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    // Another asks and waits (not on the autosign list); an admin lists, signs and revokes.
    let submitted = server.agent(&s, "node2.example.net", "submit_request", "---\n");
    assert_eq!(
        submitted.code, 0,
        "{}{}",
        submitted.stdout, submitted.stderr
    );
    let list = server.ca(&["list", "--all"]);
    assert_eq!(
        list.code,
        0,
        "{}{}\n{}",
        list.stdout,
        list.stderr,
        server.log()
    );
    for name in [
        "puppet01.example.net",
        "node1.example.net",
        "node2.example.net",
    ] {
        assert!(list.stdout.contains(name), "{name}:\n{}", list.stdout);
    }
    let signed = server.ca(&["sign", "--certname", "node2.example.net"]);
    assert_eq!(
        signed.code,
        0,
        "{}{}\n{}",
        signed.stdout,
        signed.stderr,
        server.log()
    );
    let downloaded = server.agent(&s, "node2.example.net", "download_cert", "---\n");
    assert_eq!(
        downloaded.code, 0,
        "{}{}",
        downloaded.stdout, downloaded.stderr
    );
    let revoked = server.ca(&["revoke", "--certname", "node1.example.net"]);
    assert_eq!(
        revoked.code,
        0,
        "{}{}\n{}",
        revoked.stdout,
        revoked.stderr,
        server.log()
    );
    let v = s.crl_verify("ca/signed/node1.example.net.pem", &[]);
    assert!(
        v.stderr.contains("certificate revoked"),
        "{}{}",
        v.stdout,
        v.stderr
    );
    drop(server);

    // clusterca accepts everything Puppet Server wrote and continues its serials.
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    let highest = highest_inventory_serial(&s);
    assert!(highest > host_serial, "{}", s.read("ca/inventory.txt"));
    s.run(&[
        "issue",
        "web1.example.net",
        "--alt-name",
        "puppet.example.net",
    ])
    .ok();
    assert!(
        inventory_line(&s, "web1.example.net").starts_with(&format!("0x{:04X} ", highest + 1)),
        "{}",
        s.read("ca/inventory.txt")
    );
    let v = s.crl_verify(
        "web1.example.net.pem",
        &["-verify_hostname", "puppet.example.net"],
    );
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    let list = s.run(&["list", "--all"]).ok().stdout;
    assert!(
        list.lines()
            .any(|l| l.starts_with("node1.example.net") && l.contains("revoked")),
        "{list}"
    );

    // clusterca serve on the same directory serves the agent Puppet Server signed: it fetches
    // the CRL anew over TLS and its certificate still verifies.
    let port = common::serve::free_port();
    let srv = common::serve::Serve::start(&s, port, "after-puppet", &[]);
    std::fs::remove_file(s.path("agents/node2.example.net/ssl/crl.pem")).unwrap();
    let boot = puppet::agent_at(&s, srv.port, "node2.example.net", "bootstrap", "---\n");
    assert_eq!(
        boot.code,
        0,
        "{}{}\n{}",
        boot.stdout,
        boot.stderr,
        srv.log_text()
    );
    let crl = s.read("agents/node2.example.net/ssl/crl.pem");
    assert!(crl.contains("BEGIN X509 CRL"), "{crl}");
    let v = puppet::agent_at(&s, srv.port, "node2.example.net", "verify", "---\n");
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    drop(srv);
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
}

#[test]
fn puppet_server_runs_its_ca_on_init_puppet() {
    puppet_server_runs_its_ca_on(&["--puppet"], 2);
}

#[test]
fn puppet_server_runs_its_ca_on_init_rsa_4096() {
    puppet_server_runs_its_ca_on(&["--key-type", "rsa-4096"], 2);
}
