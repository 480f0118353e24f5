//! Live probing: TLS-connect to endpoints, capture the chain each presents (even one that would
//! not verify), and judge it: verification for the expected names against the CA, names,
//! expiry. Connecting N times to a load balancer shows its members; the report says whether
//! they agree (one shared certificate, or per-node certificates that all carry the names).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clusterca_pki::inspect;
use clusterca_pki::{AltName, Finding, Rule, Severity};
use rayon::prelude::*;
use rustls::client::WebPkiServerVerifier;
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{carries, Error};

/// An endpoint: `host:port` (`[v6]:port` for IPv6 literals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl FromStr for Target {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::Target {
            text: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| bad("expected host:port"))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
            return Err(bad("expected host:port"));
        }
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad("the port must be 1 to 65535"))?;
        Ok(Target {
            host: host.to_owned(),
            port,
        })
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// How to probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Names every presented certificate must be valid for.
    pub expect_names: Vec<AltName>,
    /// Trust anchors (DER) to verify against; empty: chains are described, not verified.
    pub ca: Vec<Vec<u8>>,
    /// The SNI to send [default: the first expected DNS name, else the target's host name].
    pub sni: Option<String>,
    /// Connections per target.
    pub connections: usize,
    /// Limit for connecting and for the handshake, per connection.
    pub timeout: Duration,
    /// Connections in flight at once.
    pub concurrency: usize,
    /// Certificates expiring within this many days are a warning.
    pub warn_days: i64,
}

/// One distinct certificate a target presented.
#[derive(Debug, Clone, Serialize)]
pub struct Presented {
    /// SHA-256 fingerprint of the leaf, colon hex.
    pub fingerprint: String,
    /// Leaf subject.
    pub subject: String,
    /// Leaf issuer.
    pub issuer: String,
    /// Leaf serial.
    pub serial_number: Option<clusterca_pki::Serial>,
    /// Leaf subjectAltNames.
    pub subject_alt_names: Vec<String>,
    /// Leaf notAfter, RFC 3339 (null when the leaf does not parse).
    pub not_after: Option<String>,
    /// Whole days until notAfter (negative when expired).
    pub days_left: i64,
    /// Certificates in the presented chain.
    pub chain_length: usize,
    /// Whether the chain verifies against the CA for every expected name; null without a CA.
    pub verified: Option<bool>,
    /// Why verification failed.
    pub verify_error: Option<String>,
    /// Whether the leaf carries every expected name in its subjectAltNames.
    pub carries_expected_names: bool,
    /// How many of the connections presented it.
    pub seen: usize,
}

/// What one target presented over all its connections.
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    /// The target, `host:port`.
    pub target: String,
    /// Connections attempted.
    pub connections: usize,
    /// Connections that completed a handshake.
    pub handshakes: usize,
    /// The distinct certificates, most often seen first.
    pub certificates: Vec<Presented>,
    /// `one-shared-certificate`, `per-node-certificates` (several, all with the expected
    /// names), `disagree` (some without), or `none` (no handshake).
    pub agreement: &'static str,
    /// What is wrong, if anything.
    pub findings: Vec<Finding>,
}

/// The whole probe.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// One report per target, in the order given.
    pub targets: Vec<TargetReport>,
}

/// Outcome of one connection.
enum Attempt {
    Chain(Vec<Vec<u8>>),
    Failed { rule: Rule, message: String },
}

mod danger {
    //! A verifier that accepts any certificate, so that the probe can capture and describe
    //! chains that would not verify. Handshake signatures are still checked. Only the probe,
    //! which verifies the captured chain itself afterwards, uses it.
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

    #[derive(Debug)]
    pub struct CaptureWithoutVerifying(pub Arc<CryptoProvider>);

    impl ServerCertVerifier for CaptureWithoutVerifying {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

fn server_name(text: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(text.to_owned()).map_err(|e| Error::Target {
        text: text.to_owned(),
        reason: format!("not a usable TLS server name: {e}"),
    })
}

fn connect(
    target: &Target,
    sni: &ServerName<'static>,
    config: &Arc<ClientConfig>,
    timeout: Duration,
) -> Attempt {
    let failed = |rule, message: String| Attempt::Failed { rule, message };
    let start = Instant::now();
    let addrs: Vec<_> = match (target.host.as_str(), target.port).to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => {
            return failed(
                Rule::Unreachable,
                format!("cannot resolve {}: {e}", target.host),
            )
        }
    };
    let mut last = None;
    let mut sock = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(s) => {
                sock = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(mut sock) = sock else {
        let e = last
            .map(|e| e.to_string())
            .unwrap_or_else(|| "no address".into());
        let rule = if e.contains("timed out") {
            Rule::Timeout
        } else {
            Rule::Unreachable
        };
        return failed(rule, format!("cannot connect: {e}"));
    };
    let left = timeout
        .saturating_sub(start.elapsed())
        .max(Duration::from_millis(1));
    let _ = sock.set_read_timeout(Some(left));
    let _ = sock.set_write_timeout(Some(left));
    let mut conn = match ClientConnection::new(config.clone(), sni.clone()) {
        Ok(c) => c,
        Err(e) => return failed(Rule::TlsHandshake, e.to_string()),
    };
    while conn.is_handshaking() {
        if start.elapsed() > timeout {
            return failed(Rule::Timeout, format!("no handshake within {timeout:?}"));
        }
        if let Err(e) = conn.complete_io(&mut sock) {
            let rule = match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => Rule::Timeout,
                _ => Rule::TlsHandshake,
            };
            let message = if rule == Rule::Timeout {
                format!("no handshake within {timeout:?}")
            } else {
                format!("handshake failed: {e}")
            };
            return failed(rule, message);
        }
    }
    let chain: Vec<Vec<u8>> = conn
        .peer_certificates()
        .map(|c| c.iter().map(|d| d.to_vec()).collect())
        .unwrap_or_default();
    conn.send_close_notify();
    let _ = conn.complete_io(&mut sock);
    let _ = sock.flush();
    if chain.is_empty() {
        return failed(
            Rule::TlsHandshake,
            "the server presented no certificate".into(),
        );
    }
    Attempt::Chain(chain)
}

fn describe(
    chain: &[Vec<u8>],
    seen: usize,
    opts: &ProbeOptions,
    verifier: Option<&Arc<WebPkiServerVerifier>>,
    now: OffsetDateTime,
) -> Presented {
    use rustls::client::danger::ServerCertVerifier;
    let info = inspect::certificate_info(&chain[0], now);
    let (verified, verify_error) = match verifier {
        None => (None, None),
        Some(v) => {
            let leaf = CertificateDer::from(chain[0].as_slice());
            let intermediates: Vec<CertificateDer<'_>> = chain[1..]
                .iter()
                .map(|d| CertificateDer::from(d.as_slice()))
                .collect();
            let mut error = None;
            for name in &opts.expect_names {
                let sn = match name {
                    AltName::Dns(d) => server_name(d).ok(),
                    AltName::Ip(ip) => Some(ServerName::IpAddress((*ip).into())),
                };
                let Some(sn) = sn else { continue };
                if let Err(e) =
                    v.verify_server_cert(&leaf, &intermediates, &sn, &[], UnixTime::now())
                {
                    error = Some(format!("for {name}: {e}"));
                    break;
                }
            }
            (Some(error.is_none()), error)
        }
    };
    match info {
        Ok(c) => Presented {
            carries_expected_names: opts.expect_names.iter().all(|n| carries(&c, n)),
            fingerprint: c.fingerprint,
            subject: c.subject,
            issuer: c.issuer,
            serial_number: Some(c.serial_number),
            subject_alt_names: c.subject_alt_names,
            not_after: Some(c.not_after),
            days_left: c.seconds_left.div_euclid(86_400),
            chain_length: chain.len(),
            verified,
            verify_error,
            seen,
        },
        Err(e) => Presented {
            fingerprint: clusterca_pki::fingerprint_sha256(&chain[0]),
            subject: format!("(unparseable: {e})"),
            issuer: String::new(),
            serial_number: None,
            subject_alt_names: Vec::new(),
            not_after: None,
            days_left: 0,
            chain_length: chain.len(),
            verified: Some(false),
            verify_error: Some(e.to_string()),
            carries_expected_names: false,
            seen,
        },
    }
}

fn judge(target: &str, p: &Presented, opts: &ProbeOptions, out: &mut Vec<Finding>) {
    let who = format!(
        "{} ({})",
        p.subject,
        &p.fingerprint[..11.min(p.fingerprint.len())]
    );
    if !p.carries_expected_names {
        let names: Vec<String> = opts.expect_names.iter().map(ToString::to_string).collect();
        out.push(Finding::new(
            target,
            Rule::NameMissing,
            Severity::Error,
            format!(
                "{who} does not carry {} (its alt names: {})",
                names.join(", "),
                if p.subject_alt_names.is_empty() {
                    "none".into()
                } else {
                    p.subject_alt_names.join(", ")
                }
            ),
        ));
    } else if p.verified == Some(false) {
        out.push(Finding::new(
            target,
            Rule::Untrusted,
            Severity::Error,
            format!(
                "{who} does not verify against the CA: {}",
                p.verify_error.as_deref().unwrap_or("unknown reason")
            ),
        ));
    }
    // A leaf that does not parse has no notAfter to judge.
    let Some(not_after) = &p.not_after else {
        return;
    };
    if p.days_left < 0 {
        out.push(Finding::new(
            target,
            Rule::Expired,
            Severity::Error,
            format!("{who} expired on {not_after}"),
        ));
    } else if p.days_left < opts.warn_days {
        out.push(Finding::new(
            target,
            Rule::Expiring,
            Severity::Warning,
            format!("{who} expires on {not_after} ({} days left)", p.days_left),
        ));
    }
}

/// Probes every target `opts.connections` times, at most `opts.concurrency` connections at
/// once. Unreachable targets and timeouts are findings.
///
/// `progress` is called with (connections done, connections in all) as each one ends.
pub fn probe(
    targets: &[Target],
    opts: &ProbeOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ProbeReport, Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = Arc::new(
        ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(danger::CaptureWithoutVerifying(
                provider.clone(),
            )))
            .with_no_client_auth(),
    );
    let verifier = if opts.ca.is_empty() {
        None
    } else {
        let mut roots = RootCertStore::empty();
        for der in &opts.ca {
            roots.add(CertificateDer::from(der.clone())).map_err(|e| {
                Error::Ca(clusterca_pki::Error::CaMismatch {
                    reason: e.to_string(),
                })
            })?;
        }
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| Error::Tls(e.to_string()))?,
        )
    };
    let default_sni = opts.sni.clone().or_else(|| {
        opts.expect_names.iter().find_map(|n| match n {
            AltName::Dns(d) => Some(d.clone()),
            AltName::Ip(_) => None,
        })
    });
    let mut snis = Vec::with_capacity(targets.len());
    for t in targets {
        snis.push(server_name(default_sni.as_deref().unwrap_or(&t.host))?);
    }

    let jobs: Vec<(usize, usize)> = (0..targets.len())
        .flat_map(|t| (0..opts.connections.max(1)).map(move |c| (t, c)))
        .collect();
    let results: Mutex<Vec<Vec<Attempt>>> =
        Mutex::new((0..targets.len()).map(|_| Vec::new()).collect());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.concurrency.clamp(1, 1024).min(jobs.len().max(1)))
        .build()
        .map_err(|e| Error::Tls(e.to_string()))?;
    pool.install(|| {
        let done = std::sync::atomic::AtomicUsize::new(0);
        jobs.par_iter().for_each(|&(t, _)| {
            let a = connect(&targets[t], &snis[t], &config, opts.timeout);
            results.lock().unwrap_or_else(|e| e.into_inner())[t].push(a);
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(n, jobs.len());
        })
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());

    let now = OffsetDateTime::now_utc();
    let mut reports = Vec::with_capacity(targets.len());
    for (target, attempts) in targets.iter().zip(results) {
        let name = target.to_string();
        let mut findings = Vec::new();
        let mut chains: BTreeMap<Vec<u8>, (Vec<Vec<u8>>, usize)> = BTreeMap::new();
        let mut failures: BTreeMap<(Rule, String), usize> = BTreeMap::new();
        let connections = attempts.len();
        for a in attempts {
            match a {
                Attempt::Chain(chain) => {
                    let slot = chains.entry(chain[0].clone()).or_insert((chain, 0));
                    slot.1 += 1;
                }
                Attempt::Failed { rule, message } => {
                    *failures.entry((rule, message)).or_default() += 1
                }
            }
        }
        for ((rule, message), count) in failures {
            findings.push(Finding::new(
                &name,
                rule,
                Severity::Error,
                format!("{count} of {connections} connections: {message}"),
            ));
        }
        let mut certificates: Vec<Presented> = chains
            .values()
            .map(|(chain, seen)| describe(chain, *seen, opts, verifier.as_ref(), now))
            .collect();
        certificates.sort_by(|a, b| b.seen.cmp(&a.seen).then(a.fingerprint.cmp(&b.fingerprint)));
        for p in &certificates {
            judge(&name, p, opts, &mut findings);
        }
        let agreement = match certificates.len() {
            0 => "none",
            _ if certificates.iter().any(|p| !p.carries_expected_names) => "disagree",
            1 => "one-shared-certificate",
            _ => "per-node-certificates",
        };
        reports.push(TargetReport {
            target: name,
            connections,
            handshakes: certificates.iter().map(|p| p.seen).sum(),
            certificates,
            agreement,
            findings,
        });
    }
    Ok(ProbeReport { targets: reports })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(
            "lb.example.net:8140".parse::<Target>().unwrap(),
            Target {
                host: "lb.example.net".into(),
                port: 8140
            }
        );
        assert_eq!("[::1]:443".parse::<Target>().unwrap().host, "::1");
        assert_eq!(
            "[::1]:443".parse::<Target>().unwrap().to_string(),
            "[::1]:443"
        );
        for bad in ["lb.example.net", "lb:0", "lb:99999", ":443", "a b:1"] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }
}
