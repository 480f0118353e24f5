//! A real Puppet Server (Debian's `puppetserver`) started on a loopback port on a CA
//! directory of the test's, and a real agent (`puppet ssl`) pointed at it. Nothing outside the
//! scratch directory is changed: configuration is a copy of the package's `conf.d` with paths
//! and the port rewritten.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Run, Scratch};

/// The Debian packages these tests need.
pub const PACKAGES: &str = "puppetserver ruby-puppetserver-ca-cli puppet-agent";

/// Whether the programs are installed; see [`super::have_program`].
pub fn available() -> bool {
    super::have_program("puppetserver", PACKAGES)
        && super::have_program("puppet", PACKAGES)
        && super::have_program("java", PACKAGES)
}

/// A running Puppet Server; killed when dropped.
pub struct Server {
    child: Child,
    /// Its HTTPS port on 127.0.0.1 (agents reach it as `localhost`).
    pub port: u16,
    /// The puppet.conf that names its cadir and ssldir (for `puppetserver ca --config`).
    pub puppet_conf: PathBuf,
    log: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn rewrite(from: &Path, to: &Path, edits: &[(&str, String)]) {
    let mut text = std::fs::read_to_string(from).unwrap();
    for (key, value) in edits {
        let start = text
            .find(&format!("{key}:"))
            .unwrap_or_else(|| panic!("{key} not in {}", from.display()));
        let end = start + text[start..].find('\n').unwrap();
        text.replace_range(start..end, &format!("{key}: {value}"));
    }
    std::fs::write(to, text).unwrap();
}

impl Server {
    /// Starts Puppet Server with `cadir` = `<scratch>/ca` and `ssldir` = `<scratch>/ssl`
    /// (the server's certificate `puppet01.example.net`), and waits until it serves.
    pub fn start(s: &Scratch) -> Server {
        Server::start_with(s, "")
    }

    /// [`Server::start`] with `server_conf` appended to puppet.conf's `[server]` section
    /// (`autosign = ...`, `dns_alt_names = ...`).
    pub fn start_with(s: &Scratch, server_conf: &str) -> Server {
        Server::try_start(s, server_conf).unwrap_or_else(|log| panic!("{log}"))
    }

    /// [`Server::start_with`], or why it did not start (with its log).
    pub fn try_start(s: &Scratch, server_conf: &str) -> Result<Server, String> {
        let root = s.dir.path();
        let port = free_port();
        for d in ["ps/conf.d", "ps/code", "ps/var", "ps/run", "ps/log"] {
            std::fs::create_dir_all(s.path(d)).unwrap();
        }
        let puppet_conf = s.path("ps/puppet.conf");
        std::fs::write(
            &puppet_conf,
            format!(
                "[main]\nssldir = {r}/ssl\nvardir = {r}/ps/var\nlogdir = {r}/ps/log\nrundir = {r}/ps/run\ncodedir = {r}/ps/code\nserver = localhost\nca_server = localhost\nca_port = {port}\nserverport = {port}\n[server]\ncadir = {r}/ca\ncertname = puppet01.example.net\n{server_conf}",
                r = root.display()
            ),
        )
        .unwrap();
        let package = Path::new("/etc/puppet/puppetserver/conf.d");
        for entry in std::fs::read_dir(package).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), s.path("ps/conf.d").join(entry.file_name())).unwrap();
        }
        let r = root.display();
        rewrite(
            &package.join("puppetserver.conf"),
            &s.path("ps/conf.d/puppetserver.conf"),
            &[
                ("server-conf-dir", format!("{r}/ps")),
                ("server-code-dir", format!("{r}/ps/code")),
                ("server-var-dir", format!("{r}/ps/var")),
                ("server-run-dir", format!("{r}/ps/run")),
                ("server-log-dir", format!("{r}/ps/log")),
            ],
        );
        rewrite(
            &package.join("webserver.conf"),
            &s.path("ps/conf.d/webserver.conf"),
            &[
                ("ssl-host", "127.0.0.1".into()),
                ("ssl-port", port.to_string()),
                (
                    "access-log-config",
                    // Jetty keeps an idle connection for 30 s, and an agent's `puppet ssl`
                    // waits for the server's close before it exits: a short idle timeout.
                    format!("{r}/ps/request-logging.xml\n    idle-timeout-milliseconds: 1000"),
                ),
            ],
        );
        std::fs::copy(
            "/etc/puppet/puppetserver/request-logging.xml",
            s.path("ps/request-logging.xml"),
        )
        .unwrap();
        std::fs::write(
            s.path("ps/logback.xml"),
            "<configuration><appender name=\"OUT\" class=\"ch.qos.logback.core.ConsoleAppender\"><encoder><pattern>%d %-5p [%c{2}] %m%n</pattern></encoder></appender><root level=\"info\"><appender-ref ref=\"OUT\"/></root></configuration>\n",
        )
        .unwrap();
        rewrite(
            &package.join("global.conf"),
            &s.path("ps/conf.d/global.conf"),
            &[("logging-config", format!("{r}/ps/logback.xml"))],
        );
        let log = s.path("ps/server.log");
        let out = std::fs::File::create(&log).unwrap();
        // As Debian's `puppetserver foreground` starts it, minus the switch to the puppet user.
        let child = Command::new("java")
            .args([
                "-Xms512m",
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-XX:+UnlockDiagnosticVMOptions",
                "-XX:-BytecodeVerificationRemote",
                "-Djruby.compile.mode=OFF",
                "-Xmx1g",
                "-Djruby.lib=/usr/share/jruby/lib",
                "-jar",
                "/usr/share/puppetserver/puppetserver.jar",
                "--config",
            ])
            .arg(s.path("ps/conf.d"))
            .args(["--bootstrap-config", "/etc/puppet/puppetserver/services.d"])
            .current_dir("/usr/share/puppetserver")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start puppetserver");
        let mut server = Server {
            child,
            port,
            puppet_conf,
            log,
        };
        server.wait_ready(Duration::from_secs(240))?;
        Ok(server)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        loop {
            let log = self.log();
            if log.contains("Puppet Server has successfully started") {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "puppetserver exited with {status} while starting:\n{log}"
                ));
            }
            // A service that failed to start leaves the JVM running without serving.
            if log.contains("Error during service start") || log.contains("shutting down") {
                return Err(format!("puppetserver failed while starting:\n{log}"));
            }
            if start.elapsed() > limit {
                return Err(format!("puppetserver not ready after {limit:?}:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `puppetserver ca ARGS --config <our puppet.conf>`, as an admin (the server's own
    /// certificate carries `pp_cli_auth`).
    pub fn ca(&self, args: &[&str]) -> Run {
        let out = Command::new("puppetserver")
            .arg("ca")
            .args(args)
            .arg("--config")
            .arg(&self.puppet_conf)
            .output()
            .expect("run puppetserver ca");
        super::finish(out)
    }

    /// `puppet ssl ACTION` for agent `certname`, with its own confdir and ssldir under
    /// `<scratch>/agents/<certname>`; `csr_attributes` is the YAML of csr_attributes.yaml.
    pub fn agent(&self, s: &Scratch, certname: &str, action: &str, csr_attributes: &str) -> Run {
        agent_at(s, self.port, certname, action, csr_attributes)
    }
}

/// `puppet ssl ACTION` for agent `certname` against the CA on `port` of localhost (Puppet
/// Server or `clusterca serve`); see [`Server::agent`].
pub fn agent_at(s: &Scratch, port: u16, certname: &str, action: &str, csr_attributes: &str) -> Run {
    let base = s.path(&format!("agents/{certname}"));
    std::fs::create_dir_all(&base).unwrap();
    let conf = base.join("puppet.conf");
    let attrs = base.join("csr_attributes.yaml");
    std::fs::write(&attrs, csr_attributes).unwrap();
    std::fs::write(
            &conf,
            format!(
                "[main]\ncertname = {certname}\nssldir = {b}/ssl\nvardir = {b}/var\nlogdir = {b}/log\nrundir = {b}/run\nserver = localhost\nca_server = localhost\nca_port = {p}\nserverport = {p}\ncsr_attributes = {a}\n",
                b = base.display(),
                p = port,
                a = attrs.display()
            ),
        )
        .unwrap();
    let out = Command::new("puppet")
        .args(["ssl", action, "--confdir"])
        .arg(&base)
        .arg("--config")
        .arg(&conf)
        .args(["--waitforcert", "0"])
        .output()
        .expect("run puppet ssl");
    super::finish(out)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
