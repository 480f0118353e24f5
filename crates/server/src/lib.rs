//! clusterca-server: Puppet Server's CA HTTP API (`/puppet-ca/v1`) over the clusterca store, as
//! the single active signer or as one of several active/active signers (`--shared`).
//!
//! With `shared`, every server on the CA directory signs: each holds the lease *shared* (an
//! OFD read lock, so an exclusive server cannot start beside them) and every change goes
//! through the store lock, where everything another server may have changed (the serial, the
//! requests, signed certificates, the CRL) is read again. Without it, one process at a time is
//! *active*: it holds the signer lease, an exclusive OFD lock on
//! `clusterca.lease` in the CA directory, for its whole life. Another `serve` on the same
//! directory is a *standby*: it serves health checks (`standby`) and read-only GETs, and a
//! thread blocked on the lease makes it active the moment the kernel releases the lock (the
//! active process exits or dies, even by SIGKILL). Every change to the store still goes
//! through the store lock, exactly as the CLI's do, so CLI commands keep working beside the
//! server. Requests that change the store run on tokio's blocking pool.
#![deny(missing_docs)]

mod api;
mod autosign;
mod batch;
mod tls;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use clusterca_pki::{AltName, CertName, Ttl};
use clusterca_store::fsutil::Stamp;
use clusterca_store::{Authority, Store};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use api::{route, Route};
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
    /// Sign beside other `shared` servers on the same CA directory (active/active): hold the
    /// lease shared, never stand by.
    pub shared: bool,
    /// How long a request waits for the store lock.
    pub lock_timeout: Duration,
    /// Connections served at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Largest request body (a CSR), bytes.
    pub body_limit: usize,
    /// Limit for a TLS handshake and for reading a request's headers (also the idle limit
    /// between requests on a kept-alive connection).
    pub header_timeout: Duration,
    /// Deadline for a whole request, headers and body, from the connection's accept (or the
    /// previous answer on a kept-alive connection): a 408 and the connection closed after it.
    pub request_timeout: Duration,
    /// Connections from one client address served at once (0: no cap); more are closed at
    /// once, so that slow clients on one address cannot hold every slot.
    pub max_per_address: usize,
    /// Lifetime of each CRL the server signs.
    pub next_update: Ttl,
    /// The CRL is signed again (same entries) when its nextUpdate is this close.
    pub crl_refresh: Ttl,
    /// Answer `POST certificate_renewal` (Puppet's `allow-auto-renewal`).
    pub allow_auto_renewal: bool,
    /// Lifetime of auto-renewed certificates (Puppet's `auto-renewal-cert-ttl`).
    pub auto_renewal_ttl: Ttl,
}

/// What can stop the server from starting.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The CA directory.
    Store(clusterca_store::Error),
    /// Another `serve` holds the lease and `standby` was not asked for (or, with `shared`, an
    /// exclusive `serve` holds it).
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
            Error::LeaseHeld { path, holder } if holder.contains("--shared") => write!(
                f,
                "CA servers run active/active on this directory: {} held by {holder} (start this one with --shared too, or stop them)",
                path.display()
            ),
            Error::LeaseHeld { path, holder } => write!(
                f,
                "another CA server is the active signer: {} held by {holder} (start with --standby to wait as its standby; --shared servers cannot run beside it)",
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
    /// The store, the CA and the signing policy: every change goes through it.
    pub(crate) auth: Authority,
    pub(crate) cfg: Config,
    pub(crate) active: AtomicBool,
    /// The CRL in use for client authentication.
    crl: RwLock<CrlView>,
    /// The last error reloading it, logged once.
    crl_error: Mutex<Option<String>>,
    verifier: Arc<tls::ReloadingVerifier>,
    /// The CA bundle's keys: who may sign a CRL in use.
    issuers: Vec<Vec<u8>>,
    /// Autosign executables running at once.
    pub(crate) policies: tokio::sync::Semaphore,
    /// When the CRL was last signed again on our own (an attempt), to retry at most every
    /// CRL_RETRY.
    crl_refreshed: Mutex<Option<std::time::Instant>>,
    /// Signings and filings waiting for the next group commit.
    pub(crate) batcher: batch::Batcher,
}

/// How soon a failed CRL refresh (the store busy, a disk error) is tried again.
const CRL_RETRY: Duration = Duration::from_secs(10);

/// At most this many autosign executables run at once.
const POLICIES: usize = 16;

/// The CRL in use: its bytes (served by `GET certificate_revocation_list/ca`, so that no
/// request reads the file), when the file was changed, what it revokes, and which version of
/// the file it was read from.
pub(crate) struct CrlView {
    stamp: Option<Stamp>,
    pub(crate) pem: bytes::Bytes,
    pub(crate) modified: Option<std::time::SystemTime>,
    revoked: HashSet<String>,
    /// The CA's own CRL's nextUpdate.
    next_update: Option<time::OffsetDateTime>,
}

/// How often `serve` looks whether the CRL changed.
const CRL_POLL: Duration = Duration::from_millis(250);

impl State {
    /// Whether the client's certificate is on the CRL in use.
    pub(crate) fn revoked(&self, client: &api::Client) -> bool {
        self.crl
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .revoked
            .contains(&client.serial_hex)
    }

    /// The CRL in use.
    pub(crate) fn crl(&self) -> (bytes::Bytes, Option<std::time::SystemTime>) {
        let view = self.crl.read().unwrap_or_else(PoisonError::into_inner);
        (view.pem.clone(), view.modified)
    }

    /// Signs the CRL again (same entries, a new number and nextUpdate) when the active server
    /// finds its nextUpdate within `--crl-refresh`, as Puppet Server re-signs its CRL before it
    /// expires. A failure is logged and tried again after CRL_RETRY.
    pub(crate) fn refresh_crl_if_due(&self) {
        if !self.active.load(Ordering::SeqCst) {
            return;
        }
        let now = time::OffsetDateTime::now_utc();
        let next = self
            .crl
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .next_update;
        let Some(next) = next else { return };
        if next - now > self.cfg.crl_refresh.duration() {
            return;
        }
        {
            let mut tried = self
                .crl_refreshed
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if tried.is_some_and(|t| t.elapsed() < CRL_RETRY) {
                return;
            }
            *tried = Some(std::time::Instant::now());
        }
        // Due is decided again under the store lock: of several servers, one re-signs.
        match self.auth.refresh_crl_if_due(self.cfg.crl_refresh, now) {
            Ok(None) => self.reload_crl(false),
            Ok(Some(u)) => {
                log(
                    serde_json::json!({"event": "crl-refreshed", "crl_number": u.crl_number,
                    "next_update": clusterca_pki::rfc3339(u.next_update)}),
                );
                self.reload_crl(true);
            }
            Err(e) => log(serde_json::json!({"event": "crl-refresh-error",
                "message": e.to_string()})),
        }
    }

    /// Reads the CRL again when its file changed (or always, with `force`) and puts it in use
    /// for the next handshake and the next request. On an error the CRL in use stays, the
    /// next poll tries again, and the error is logged once (until it changes).
    pub(crate) fn reload_crl(&self, force: bool) {
        let result = (|| -> Result<Option<usize>, String> {
            let stamp = self.auth.store().crl_stamp().map_err(|e| e.to_string())?;
            let current = self
                .crl
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .stamp;
            if !force && current == stamp {
                return Ok(None);
            }
            let (pem, modified) = self
                .auth
                .store()
                .read_crl_modified()
                .map_err(|e| e.to_string())?;
            // Parsed once, for both the signer check and the revoked serials.
            let ders = crl_blocks(&pem)?;
            signed_by_bundle(&ders, &self.issuers)?;
            let view = crl_view(stamp, pem, &ders, Some(modified))?;
            self.verifier.reload(&view.pem)?;
            let count = view.revoked.len();
            *self.crl.write().unwrap_or_else(PoisonError::into_inner) = view;
            Ok(Some(count))
        })();
        let mut last = self
            .crl_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok(None) => {}
            Ok(Some(revoked)) => {
                *last = None;
                log(serde_json::json!({"event": "crl-reloaded", "revoked": revoked}))
            }
            Err(message) if last.as_ref() != Some(&message) => {
                log(serde_json::json!({"event": "crl-error",
                    "message": format!("keeping the CRL in use: {message}")}));
                *last = Some(message);
            }
            Err(_) => {}
        }
    }
}

/// The SubjectPublicKeyInfos of the CA bundle's certificates: who may sign a CRL `serve`
/// uses. Read once at start (the bundle does not change while `serve` runs).
fn bundle_issuers(bundle_pem: &[u8]) -> Vec<Vec<u8>> {
    use clusterca_pki::inspect;
    inspect::certificates(bundle_pem)
        .unwrap_or_default()
        .iter()
        .filter_map(|der| inspect::certificate_info(der, time::OffsetDateTime::now_utc()).ok())
        .map(|info| info.spki_der)
        .collect()
}

/// The CRL blocks of `pem` (none for an empty file).
fn crl_blocks(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if pem.is_empty() {
        return Ok(Vec::new());
    }
    clusterca_pki::inspect::crls(pem).map_err(|e| e.to_string())
}

/// Refuses CRLs not made by this CA: each block must be signed by one of `issuers` (the CA
/// bundle's keys), and there are no more blocks than the bundle has certificates (one CRL
/// per CA).
fn signed_by_bundle(crls: &[Vec<u8>], issuers: &[Vec<u8>]) -> Result<(), String> {
    if crls.len() > issuers.len() {
        return Err(format!(
            "it holds {} CRLs, more than the {} certificates of the CA bundle",
            crls.len(),
            issuers.len()
        ));
    }
    for (i, der) in crls.iter().enumerate() {
        let signed = issuers
            .iter()
            .any(|spki| clusterca_pki::inspect::crl_signed_by(der, spki).unwrap_or(false));
        if !signed {
            return Err(format!(
                "CRL {} of {} is not signed by this CA",
                i + 1,
                crls.len()
            ));
        }
    }
    Ok(())
}

/// What the CRL blocks `ders` of the file `pem` revoke, as the view `serve` uses.
fn crl_view(
    stamp: Option<Stamp>,
    pem: Vec<u8>,
    ders: &[Vec<u8>],
    modified: Option<std::time::SystemTime>,
) -> Result<CrlView, String> {
    let mut revoked = HashSet::new();
    let mut next_update = None;
    for (i, der) in ders.iter().enumerate() {
        let info = clusterca_pki::inspect::crl_info(der).map_err(|e| e.to_string())?;
        if i == 0 {
            next_update = info.next_update_time;
        }
        revoked.extend(info.revoked.into_iter().map(|r| r.serial_hex));
    }
    Ok(CrlView {
        stamp,
        pem: pem.into(),
        modified,
        revoked,
        next_update,
    })
}

/// What the per-address cap counts by: an IPv4 address (IPv4-mapped IPv6 included), or an
/// IPv6 /64 (one host commonly holds a whole /64).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            // segments() is a [u16; 8]: index 4 is always in range (a constant, not input).
            let mut seg = v6.segments();
            seg[4..].fill(0);
            IpAddr::V6(seg.into())
        }
        v4 => v4,
    }
}

/// Connections served per client address, for `max_per_address`: each address (see
/// [`client_key`]) has `cap` slots; a connection past them waits for one (holding no server
/// slot, at most `--header-timeout`), and past `WAITING` times `cap` waiting it is closed.
struct PerAddress {
    cap: usize,
    shares: Mutex<HashMap<IpAddr, Arc<Share>>>,
}

/// How many connections of one address may wait, per slot.
const WAITING: usize = 4;

/// One address's slots and how many of its connections wait for one.
struct Share {
    slots: Arc<Semaphore>,
    waiting: std::sync::atomic::AtomicUsize,
}

/// What [`PerAddress::take`] gives a new connection.
enum Taken {
    /// Served now.
    Now(AddressSlot),
    /// Waits for a slot of its address.
    Wait(Waiter),
    /// Closed at once.
    Full,
}

/// A slot of one address, given back when dropped.
struct AddressSlot {
    table: Arc<PerAddress>,
    ip: IpAddr,
    share: Option<Arc<Share>>,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// A connection waiting for a slot of its address.
struct Waiter {
    table: Arc<PerAddress>,
    ip: IpAddr,
    share: Arc<Share>,
}

impl PerAddress {
    fn take(table: &Arc<PerAddress>, ip: IpAddr) -> Taken {
        if table.cap == 0 {
            return Taken::Now(AddressSlot {
                table: table.clone(),
                ip,
                share: None,
                permit: None,
            });
        }
        let share = table
            .shares
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(ip)
            .or_insert_with(|| {
                Arc::new(Share {
                    slots: Arc::new(Semaphore::new(table.cap)),
                    waiting: 0.into(),
                })
            })
            .clone();
        if let Ok(permit) = share.slots.clone().try_acquire_owned() {
            return Taken::Now(AddressSlot {
                table: table.clone(),
                ip,
                share: Some(share),
                permit: Some(permit),
            });
        }
        let waiting = share.waiting.fetch_add(1, Ordering::SeqCst);
        let waiter = Waiter {
            table: table.clone(),
            ip,
            share,
        };
        if waiting >= WAITING * table.cap {
            return Taken::Full;
        }
        Taken::Wait(waiter)
    }

    /// Forgets an address none of whose connections is left (`held` references besides the
    /// table's are about to go).
    fn release(&self, ip: IpAddr, share: &Arc<Share>, held: usize) {
        let mut shares = self.shares.lock().unwrap_or_else(PoisonError::into_inner);
        if Arc::strong_count(share) <= held + 1 {
            shares.remove(&ip);
        }
    }
}

impl Waiter {
    /// A slot of the address, once one is free.
    async fn wait(self) -> Option<AddressSlot> {
        let permit = self.share.slots.clone().acquire_owned().await.ok()?;
        Some(AddressSlot {
            table: self.table.clone(),
            ip: self.ip,
            share: Some(self.share.clone()),
            permit: Some(permit),
        })
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.share.waiting.fetch_sub(1, Ordering::SeqCst);
        self.table.release(self.ip, &self.share, 1);
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        drop(self.permit.take());
        if let Some(share) = &self.share {
            self.table.release(self.ip, share, 1);
        }
    }
}

/// Writes one JSON line to stderr: the access log and the server's own events.
pub(crate) fn log(mut event: serde_json::Value) {
    if let Some(map) = event.as_object_mut() {
        map.entry("time").or_insert_with(|| now_rfc3339().into());
    }
    let mut line = clusterca_pki::json_escape_bidi(event.to_string());
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
    let lease = if cfg.shared {
        store.share_lease()?
    } else {
        store.try_lease()?
    };
    if lease.is_none() && (!cfg.standby || cfg.shared) {
        return Err(Error::LeaseHeld {
            path: store.shown(clusterca_store::layout::LEASE),
            holder: store.lease_holder(),
        });
    }
    let ca = store.load_ca()?;
    let crl_stamp = store.crl_stamp()?;
    let (crl_pem, modified) = match store.read_crl_modified() {
        Ok((pem, modified)) => (pem, Some(modified)),
        Err(e) if e.is_not_found() => (Vec::new(), None),
        Err(e) => return Err(e.into()),
    };
    let crl = crl_blocks(&crl_pem)
        .and_then(|ders| crl_view(crl_stamp, crl_pem, &ders, modified))
        .map_err(|e| Error::Setup(format!("CRL: {e}")))?;
    let (tls, verifier) = tls::server_config(&store, &ca, &cfg, &crl.pem)?;
    let auth = Authority::new(store.clone(), ca, cfg.lock_timeout).crl_lifetime(cfg.next_update);
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| Error::Setup(format!("cannot listen on {}: {e}", cfg.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Setup(e.to_string()))?;
    let issuers = bundle_issuers(auth.ca().chain_pem().as_bytes());
    let state = Arc::new(State {
        auth,
        active: AtomicBool::new(lease.is_some()),
        cfg: cfg.clone(),
        crl: RwLock::new(crl),
        crl_error: Mutex::new(None),
        verifier,
        policies: tokio::sync::Semaphore::new(POLICIES),
        issuers,
        crl_refreshed: Mutex::new(None),
        batcher: batch::Batcher::default(),
    });
    let committer = state.clone();
    std::thread::Builder::new()
        .name("committer".into())
        .spawn(move || batch::committer(committer))
        .map_err(|e| Error::Setup(format!("cannot start the committer thread: {e}")))?;
    for (admin, covered) in autosign_covers(&cfg) {
        log(serde_json::json!({"event": "warning", "message": format!(
            "the autosign setting {covered} admin name {admin}; serve never autosigns it (an admin signs it)"
        )}));
    }
    log(serde_json::json!({
        "time": now_rfc3339(), "event": "listening", "address": addr.to_string(),
        "role": match (lease.is_some(), cfg.shared) {
            (true, true) => "shared",
            (true, false) => "active",
            (false, _) => "standby",
        },
        "dir": cfg.dir.display().to_string(),
    }));
    // The lease guard lives as long as the process; a standby's waiter thread takes it.
    let _lease = lease;
    if !state.active.load(Ordering::SeqCst) {
        let waiter = state.clone();
        std::thread::spawn(move || match waiter.auth.store().wait_lease() {
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
    // The CRL used for client authentication follows the file (Puppet Server reloads its
    // CRL since 5.1): a certificate revoked by any signer is refused within CRL_POLL.
    // On its own thread: no load on the runtime or its blocking pool delays it.
    let watcher = state.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(CRL_POLL);
        watcher.reload_crl(false);
        watcher.refresh_crl_if_due();
    });
    ready(addr);
    let per_address = Arc::new(PerAddress {
        cap: cfg.max_per_address,
        shares: Mutex::new(HashMap::new()),
    });
    let last_cap_log = Arc::new(AtomicI64::new(0));

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
        let accepted = Instant::now();
        let taken = match PerAddress::take(&per_address, client_key(remote.ip())) {
            Taken::Full => {
                // Past the per-address cap and its waiting room: closed at once, before any
                // TLS work. Logged at most once a second.
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                if last_cap_log.swap(now, Ordering::Relaxed) != now {
                    log(serde_json::json!({"event": "address-cap",
                        "remote": remote.ip().to_string(),
                        "message": format!("closing connections past {} (and {} waiting) from one address",
                            cfg.max_per_address, WAITING * cfg.max_per_address)}));
                }
                drop(tcp);
                continue;
            }
            taken => taken,
        };
        let slots = slots.clone();
        let acceptor = acceptor.clone();
        let state = state.clone();
        let header_timeout = cfg.header_timeout.min(cfg.request_timeout);
        let request_timeout = cfg.request_timeout;
        let body_limit = cfg.body_limit;
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let (_permit, _address_slot) = match taken {
                Taken::Now(slot) => (permit, slot),
                // Waiting for its address's slot holds no server slot.
                Taken::Wait(waiter) => {
                    drop(permit);
                    let Ok(Some(slot)) = tokio::time::timeout(header_timeout, waiter.wait()).await
                    else {
                        return;
                    };
                    let Ok(permit) = slots.acquire_owned().await else {
                        return;
                    };
                    (permit, slot)
                }
                Taken::Full => return,
            };
            // A client that stops reading (pipelined requests whose answers it never takes)
            // would hold its slot for ever: a write that makes no progress for the request
            // timeout ends the connection.
            let mut tcp = tokio_io_timeout::TimeoutStream::new(tcp);
            tcp.set_write_timeout(Some(request_timeout));
            let tcp = Box::pin(tcp);
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
            // When the current request's clock started: the accept, then each answer.
            let clock = Arc::new(Mutex::new(accepted));
            let service = hyper::service::service_fn(move |req| {
                let state = state.clone();
                let client = client.clone();
                let clock = clock.clone();
                async move {
                    let start = Instant::now();
                    let started = *clock.lock().unwrap_or_else(PoisonError::into_inner);
                    let limits = api::Limits {
                        deadline: tokio::time::Instant::from_std(started + request_timeout),
                        body: body_limit,
                    };
                    let method = req.method().to_string();
                    let path = api::shown_path(req.uri().path()).into_owned();
                    let resp = api::handle(&state, client.as_ref(), req, limits).await;
                    *clock.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
                    // What taking the store lock finished of an interrupted batch.
                    for note in state.auth.store().take_notes() {
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

/// The admin names the autosign setting would cover, and how: `true` covers all; a file's
/// globs are matched; an executable is run for nothing here (it may say yes to anything).
fn autosign_covers(cfg: &Config) -> Vec<(String, &'static str)> {
    cfg.admins
        .iter()
        .filter_map(|admin| {
            let how = match &cfg.autosign {
                Autosign::Off => return None,
                Autosign::All => "true covers",
                Autosign::File(_) if cfg.autosign.allows(admin, "") => "file covers",
                Autosign::File(_) => return None,
                Autosign::Exec(_) => "executable may cover",
            };
            Some((admin.clone(), how))
        })
        .collect()
}
