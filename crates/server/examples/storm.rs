//! The load generator of `benches/bootstrap_storm.py` and `benches/serve_vs_puppetserver.py`:
//! simulated Puppet agents against a CA API (clusterca `serve`, Puppet Server, or a load
//! balancer in front of either), cheap enough to share the machine with the server.
//!
//! ```text
//! storm bootstrap --url https://HOST:PORT --ca CA.pem --agents N --concurrency C [--prefix P]
//! storm sign      --url https://HOST:PORT --ca CA.pem --agents N --concurrency C [--prefix P]
//! ```
//!
//! `bootstrap`: each agent opens its own TLS connection and does what `puppet ssl bootstrap`
//! does: `GET certificate/ca`, `GET certificate_revocation_list/ca`, `PUT
//! certificate_request/NAME`, then `GET certificate/NAME` until it answers 200 (every 50 ms).
//! `sign`: C clients on one kept-alive connection each, every agent a `PUT
//! certificate_request` then a `GET certificate` (the API signing rate).
//!
//! Every agent's CSR (a P-256 key, CN = its certname) is made before the clock starts. It
//! prints one JSON object: agents, seconds, agents per second, p50/p99 per agent in ms and the non-200 answers (it exits 1 when there were any).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

struct Opts {
    mode: String,
    host: String,
    port: u16,
    ca: String,
    agents: usize,
    concurrency: usize,
    prefix: String,
    server_name: String,
}

fn opts() -> Result<Opts, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args
        .first()
        .cloned()
        .ok_or("usage: storm bootstrap|sign --url ...")?;
    let get = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let url = get("--url").ok_or("--url https://HOST:PORT is required")?;
    let hostport = url
        .strip_prefix("https://")
        .ok_or("--url must be https://")?;
    let (host, port) = hostport.rsplit_once(':').ok_or("--url needs a port")?;
    Ok(Opts {
        mode,
        host: host.to_owned(),
        port: port.trim_end_matches('/').parse().map_err(|_| "bad port")?,
        ca: get("--ca").ok_or("--ca FILE is required")?,
        agents: get("--agents")
            .map_or(Ok(1000), |v| v.parse())
            .map_err(|_| "bad --agents")?,
        concurrency: get("--concurrency")
            .map_or(Ok(64), |v| v.parse())
            .map_err(|_| "bad --concurrency")?,
        prefix: get("--prefix").unwrap_or_else(|| "agent-".into()),
        server_name: get("--server-name").unwrap_or_else(|| host.to_owned()),
    })
}

/// One HTTP/1.1 exchange on a kept-alive connection: the status and the body.
async fn exchange(
    tls: &mut TlsStream<TcpStream>,
    method: &str,
    path: &str,
    host: &str,
    body: &[u8],
) -> Result<(u16, Vec<u8>), String> {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: text/plain\r\n");
    }
    req.push_str("\r\n");
    let mut out = req.into_bytes();
    out.extend_from_slice(body);
    tls.write_all(&out).await.map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tls.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    let chunked = head
        .lines()
        .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
    if chunked {
        // Puppet Server (Jetty) answers in chunks: size line, data, CRLF, ..., a 0 chunk.
        let mut body = Vec::new();
        let mut at = head_end;
        loop {
            let line_end = loop {
                if let Some(i) = buf[at..].windows(2).position(|w| w == b"\r\n") {
                    break at + i;
                }
                fill(tls, &mut buf, &mut chunk).await?;
            };
            let size_text = String::from_utf8_lossy(&buf[at..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| format!("bad chunk size {size_text:?}"))?;
            at = line_end + 2;
            while buf.len() < at + size + 2 {
                fill(tls, &mut buf, &mut chunk).await?;
            }
            body.extend_from_slice(&buf[at..at + size]);
            at += size + 2;
            if size == 0 {
                return Ok((status, body));
            }
        }
    }
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        fill(tls, &mut buf, &mut chunk).await?;
    }
    Ok((status, buf[head_end..head_end + length].to_vec()))
}

/// Reads more of the answer into `buf`.
async fn fill(
    tls: &mut TlsStream<TcpStream>,
    buf: &mut Vec<u8>,
    chunk: &mut [u8],
) -> Result<(), String> {
    let n = tls.read(chunk).await.map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("connection closed in the answer".into());
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

struct Run {
    opts: Opts,
    connector: TlsConnector,
    csrs: Vec<(String, Vec<u8>)>,
    bad: AtomicUsize,
    next: AtomicUsize,
}

impl Run {
    async fn connect(&self) -> Result<TlsStream<TcpStream>, String> {
        let tcp = TcpStream::connect((self.opts.host.as_str(), self.opts.port))
            .await
            .map_err(|e| e.to_string())?;
        let _ = tcp.set_nodelay(true);
        let name =
            ServerName::try_from(self.opts.server_name.clone()).map_err(|e| e.to_string())?;
        self.connector
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())
    }

    fn expect(&self, what: &str, got: Result<(u16, Vec<u8>), String>, want: u16) -> bool {
        match got {
            Ok((s, _)) if s == want => true,
            other => {
                if self.bad.fetch_add(1, Ordering::SeqCst) < 5 {
                    eprintln!(
                        "storm: {what}: {:?}",
                        other.map(|(s, b)| (s, String::from_utf8_lossy(&b).into_owned()))
                    );
                }
                false
            }
        }
    }

    /// One agent's `puppet ssl bootstrap` on its own connection.
    async fn bootstrap(&self, i: usize) -> Result<(), String> {
        let (name, csr) = &self.csrs[i];
        let host = &self.opts.host;
        let mut tls = self.connect().await?;
        let r = exchange(&mut tls, "GET", "/puppet-ca/v1/certificate/ca", host, b"").await;
        self.expect("GET certificate/ca", r, 200);
        let r = exchange(
            &mut tls,
            "GET",
            "/puppet-ca/v1/certificate_revocation_list/ca",
            host,
            b"",
        )
        .await;
        self.expect("GET certificate_revocation_list/ca", r, 200);
        let path = format!("/puppet-ca/v1/certificate_request/{name}");
        let r = exchange(&mut tls, "PUT", &path, host, csr).await;
        if !self.expect("PUT certificate_request", r, 200) {
            return Ok(());
        }
        let path = format!("/puppet-ca/v1/certificate/{name}");
        for _ in 0..600 {
            match exchange(&mut tls, "GET", &path, host, b"").await {
                Ok((200, _)) => return Ok(()),
                Ok((404, _)) => tokio::time::sleep(Duration::from_millis(50)).await,
                other => {
                    self.expect("GET certificate", other, 200);
                    return Ok(());
                }
            }
        }
        self.expect(
            "GET certificate",
            Err("no certificate after 30 s".into()),
            200,
        );
        Ok(())
    }

    /// One client's share of the API signings on one kept-alive connection.
    async fn signer(&self, times: &mut Vec<f64>) -> Result<(), String> {
        let host = self.opts.host.clone();
        let mut tls = self.connect().await?;
        loop {
            let i = self.next.fetch_add(1, Ordering::SeqCst);
            let Some((name, csr)) = self.csrs.get(i) else {
                return Ok(());
            };
            let t = Instant::now();
            let path = format!("/puppet-ca/v1/certificate_request/{name}");
            let r = exchange(&mut tls, "PUT", &path, &host, csr).await;
            self.expect("PUT certificate_request", r, 200);
            let path = format!("/puppet-ca/v1/certificate/{name}");
            let r = exchange(&mut tls, "GET", &path, &host, b"").await;
            self.expect("GET certificate", r, 200);
            times.push(t.elapsed().as_secs_f64());
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] * 1000.0
}

fn main() {
    let opts = match opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("storm: {e}");
            std::process::exit(2);
        }
    };
    let pem = std::fs::read(&opts.ca).unwrap_or_else(|e| {
        eprintln!("storm: {}: {e}", opts.ca);
        std::process::exit(2)
    });
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(&pem).flatten() {
        let _ = roots.add(der);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .unwrap_or_else(|e| {
            eprintln!("storm: {e}");
            std::process::exit(2)
        });
    // The CSRs first, before the clock: one P-256 key per agent.
    let csrs: Vec<(String, Vec<u8>)> = (0..opts.agents)
        .map(|i| {
            let name = format!("{}{i}.example.net", opts.prefix);
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                .expect("P-256 key generation");
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
            params.distinguished_name = rcgen::DistinguishedName::new();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, name.clone());
            let csr = params.serialize_request(&key).expect("CSR");
            (name, csr.pem().expect("PEM").into_bytes())
        })
        .collect();
    let run = Arc::new(Run {
        connector: TlsConnector::from(Arc::new(config)),
        csrs,
        bad: AtomicUsize::new(0),
        next: AtomicUsize::new(0),
        opts,
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let start = Instant::now();
    let mut times: Vec<f64> = runtime.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..run.opts.concurrency {
            let run = run.clone();
            tasks.push(tokio::spawn(async move {
                let mut times = Vec::new();
                if run.opts.mode == "sign" {
                    if let Err(e) = run.signer(&mut times).await {
                        run.expect("connect", Err(e), 200);
                    }
                    return times;
                }
                loop {
                    let i = run.next.fetch_add(1, Ordering::SeqCst);
                    if i >= run.csrs.len() {
                        return times;
                    }
                    let t = Instant::now();
                    if let Err(e) = run.bootstrap(i).await {
                        run.expect("connect", Err(e), 200);
                    }
                    times.push(t.elapsed().as_secs_f64());
                }
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap_or_default());
        }
        all
    });
    let secs = start.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    let bad = run.bad.load(Ordering::SeqCst);
    println!(
        "{{\"mode\":\"{}\",\"agents\":{},\"concurrency\":{},\"seconds\":{secs:.3},\"per_second\":{:.1},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"failures\":{bad}}}",
        run.opts.mode,
        run.csrs.len(),
        run.opts.concurrency,
        run.csrs.len() as f64 / secs,
        percentile(&times, 0.5),
        percentile(&times, 0.99),
    );
    if bad > 0 {
        std::process::exit(1);
    }
}
