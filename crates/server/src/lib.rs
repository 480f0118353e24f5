//! clusterca-server: Puppet Server's CA HTTP API (`/puppet-ca/v1`) over the clusterca store, as
//! the single active signer.
//!
//! One process at a time is *active*: it holds the signer lease, an exclusive OFD lock on
//! `clusterca.lease` in the CA directory, for its whole life. Another `serve` on the same
//! directory is a *standby*: it serves health checks (`standby`) and read-only GETs, and a
//! thread blocked on the lease makes it active the moment the kernel releases the lock (the
//! active process exits or dies, even by SIGKILL). Every change to the store still goes
//! through the store lock, exactly as the CLI's do, so CLI commands keep working beside the
//! server. Requests that change the store run on tokio's blocking pool.
#![deny(missing_docs)]

mod api;
mod autosign;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clusterca_pki::{AltName, CertName, CertificateAuthority};
use clusterca_store::Store;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use autosign::Autosign;

/// How to serve.
#[derive(Debug, Clone)]
pub struct Config {
    /// The CA directory.
    pub dir: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The server certificate's certname (issued by the CA on first start if missing).
    pub cert_name: CertName,
    /// Extra alt names for that certificate (the names agents use as `ca_server`).
    pub alt_names: Vec<AltName>,
    /// Autosigning of submitted CSRs.
    pub autosign: Autosign,
    /// Client certnames allowed to call the admin endpoints (besides `pp_cli_auth` holders).
    pub admins: Vec<String>,
    /// Wait as standby when another server holds the lease (else: exit).
    pub standby: bool,
    /// How long a request waits for the store lock.
    pub lock_timeout: Duration,
    /// Connections served at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Largest request body (a CSR), bytes.
    pub body_limit: usize,
    /// Limit for a TLS handshake and for reading a request's headers (also the idle limit
    /// between requests on a kept-alive connection).
    pub header_timeout: Duration,
}

/// What can stop the server from starting.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The CA directory.
    Store(clusterca_store::Error),
    /// Another `serve` holds the lease and `standby` was not asked for.
    LeaseHeld {
        /// The lease file.
        path: PathBuf,
        /// Who holds it.
        holder: String,
    },
    /// Binding, TLS setup, the runtime.
    Setup(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Store(e) => write!(f, "{e}"),
            Error::LeaseHeld { path, holder } => write!(
                f,
                "another CA server is the active signer: {} held by {holder} (start with --standby to wait as its standby)",
                path.display()
            ),
            Error::Setup(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<clusterca_store::Error> for Error {
    fn from(e: clusterca_store::Error) -> Self {
        Error::Store(e)
    }
}

/// Shared by every request.
pub(crate) struct State {
    pub(crate) store: Store,
    pub(crate) ca: CertificateAuthority,
    pub(crate) cfg: Config,
    pub(crate) active: AtomicBool,
}

/// Writes one JSON line to stderr: the access log and the server's own events.
pub(crate) fn log(mut event: serde_json::Value) {
    if let Some(map) = event.as_object_mut() {
        map.entry("time").or_insert_with(|| now_rfc3339().into());
    }
    let mut line = event.to_string();
    line.push('\n');
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Runs the server until SIGTERM or SIGINT, then finishes in-flight requests (at most 30 s).
/// `ready` is called with the bound address once the server accepts connections.
pub fn run(cfg: Config, ready: impl FnOnce(SocketAddr) + Send + 'static) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Setup(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(serve(cfg, ready))
}

async fn serve(cfg: Config, ready: impl FnOnce(SocketAddr) + Send + 'static) -> Result<(), Error> {
    let store = Store::open(&cfg.dir)?;
    // The lease first: a second server must not even issue its own certificate unseen.
    let lease = store.try_lease()?;
    if lease.is_none() && !cfg.standby {
        return Err(Error::LeaseHeld {
            path: store.shown(clusterca_store::layout::LEASE),
            holder: store.lease_holder(),
        });
    }
    let ca = store.load_ca()?;
    let tls = tls::server_config(&store, &ca, &cfg)?;
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| Error::Setup(format!("cannot listen on {}: {e}", cfg.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Setup(e.to_string()))?;
    let state = Arc::new(State {
        store: store.clone(),
        ca,
        active: AtomicBool::new(lease.is_some()),
        cfg: cfg.clone(),
    });
    log(serde_json::json!({
        "time": now_rfc3339(), "event": "listening", "address": addr.to_string(),
        "role": if lease.is_some() { "active" } else { "standby" },
        "dir": cfg.dir.display().to_string(),
    }));
    // The lease guard lives as long as the process; a standby's waiter thread takes it.
    let _lease = lease;
    if !state.active.load(Ordering::SeqCst) {
        let waiter = state.clone();
        std::thread::spawn(move || match waiter.store.wait_lease() {
            Ok(guard) => {
                waiter.active.store(true, Ordering::SeqCst);
                log(serde_json::json!({"time": now_rfc3339(), "event": "active",
                    "message": "took over the signer lease"}));
                // Held until the process exits.
                std::mem::forget(guard);
            }
            Err(e) => log(
                serde_json::json!({"time": now_rfc3339(), "event": "lease-error",
                "message": e.to_string()}),
            ),
        });
    }
    ready(addr);

    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let slots = Arc::new(Semaphore::new(cfg.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Error::Setup(e.to_string()))?;
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        };
        let (tcp, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(_) => continue,
            },
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        };
        let acceptor = acceptor.clone();
        let state = state.clone();
        let header_timeout = cfg.header_timeout;
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(t)) => t,
                _ => return,
            };
            let client = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| api::Client::from_der(c.as_ref()));
            let service = hyper::service::service_fn(move |req| {
                let state = state.clone();
                let client = client.clone();
                async move {
                    let start = Instant::now();
                    let method = req.method().to_string();
                    let path = req.uri().path().to_owned();
                    let resp = api::handle(&state, client.as_ref(), req).await;
                    // What taking the store lock finished of an interrupted batch.
                    for note in state.store.take_notes() {
                        log(serde_json::json!({"event": "recovered", "message": note}));
                    }
                    log(serde_json::json!({
                        "time": now_rfc3339(), "remote": remote.to_string(),
                        "client": client.as_ref().and_then(|c| c.name.clone()),
                        "method": method, "path": path, "status": resp.status().as_u16(),
                        "ms": (start.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
                    }));
                    Ok::<_, std::convert::Infallible>(resp)
                }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(tls), service);
            let _ = watcher.watch(conn).await;
        });
    }
    log(
        serde_json::json!({"time": now_rfc3339(), "event": "shutdown",
        "message": "finishing in-flight requests"}),
    );
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(30)) => {}
    }
    Ok(())
}
