//! A `clusterca serve` started on a loopback port for a test, and `curl` as its client.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Scratch;

/// A running `clusterca serve`; killed (SIGKILL) when dropped.
pub struct Serve {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Serve {
    /// Starts `clusterca serve` with `--cert localhost --alt-name IP:127.0.0.1` plus `extra`
    /// on `port`; waits until its log says it listens.
    pub fn start(s: &Scratch, port: u16, tag: &str, extra: &[&str]) -> Serve {
        let log = s.path(&format!("serve-{tag}.log"));
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec![
            "serve",
            "--listen",
            &listen,
            "--cert",
            "localhost",
            "--alt-name",
            "IP:127.0.0.1",
        ];
        args.extend_from_slice(extra);
        let child = s
            .cmd(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start clusterca serve");
        let serve = Serve { child, port, log };
        serve.wait_for_log("\"event\":\"listening\"", Duration::from_secs(30));
        serve
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn wait_for_log(&self, needle: &str, limit: Duration) {
        let start = Instant::now();
        while !self.log_text().contains(needle) {
            assert!(
                start.elapsed() < limit,
                "serve never logged {needle}:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `curl` against the CA with `args` (verifying the server against ca/ca_crt.pem); stdout is
/// the body followed by a last line with the status code.
pub fn curl(s: &Scratch, args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-S",
            "--max-time",
            "20",
            "--cacert",
            "ca/ca_crt.pem",
            "-w",
            "\n%{http_code}",
        ])
        .args(args)
        .current_dir(s.dir.path())
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// curl's `--cert` and `--key` for the client certificate `who` issued into the scratch dir.
pub fn admin_args(s: &Scratch, who: &str) -> Vec<String> {
    vec![
        "--cert".into(),
        s.path(&format!("{who}.pem")).display().to_string(),
        "--key".into(),
        s.path(&format!("{who}.key.pem")).display().to_string(),
    ]
}

/// `args` followed by `more`, as curl's arguments.
pub fn with<'a>(args: &'a [String], more: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = args.iter().map(String::as_str).collect();
    v.extend_from_slice(more);
    v
}

/// `PUT certificate_request/NAME` with the CSR in `file` (in the scratch dir).
pub fn put_csr(s: &Scratch, srv: &Serve, name: &str, file: &str) -> (u16, String) {
    curl(
        s,
        &[
            "-X",
            "PUT",
            "-H",
            "Content-Type: text/plain",
            "--data-binary",
            &format!("@{file}"),
            &srv.url(&format!("/puppet-ca/v1/certificate_request/{name}")),
        ],
    )
}

/// `PUT url` with `data` as the body, as the client `who` (see [`admin_args`]).
pub fn put_as(s: &Scratch, who: &[String], url: &str, data: &str) -> (u16, String) {
    curl(s, &with(who, &["-X", "PUT", "--data", data, url]))
}

/// A fresh CA and a `serve` on it (see [`Serve::start`]).
pub fn ca_and_server(tag: &str, extra: &[&str]) -> (Scratch, Serve) {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    let srv = Serve::start(&s, free_port(), tag, extra);
    (s, srv)
}

/// A CSR for `cn` (P-256) with SAN `DNS:cn`, PEM, made in-process.
pub fn csr(cn: &str) -> String {
    csr_with(cn, &[])
}

/// A CSR for `cn` with SANs `DNS:cn` and `extra`.
pub fn csr_with(cn: &str, extra: &[&str]) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut names = vec![cn.to_owned()];
    names.extend(extra.iter().map(|e| (*e).to_owned()));
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

/// Whether curl is installed (else one line naming the package; a failure under
/// CLUSTERCA_INTEROP=require).
pub fn have_curl() -> bool {
    super::have_program("curl", "curl")
}
