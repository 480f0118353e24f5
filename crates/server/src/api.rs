//! `/puppet-ca/v1` and `/status/v1/simple`: routes, authorization (Puppet's default
//! auth.conf), and the store calls behind them. Status codes, content types and messages are
//! Puppet Server 7's (PUPPET.md).

use std::sync::atomic::Ordering;
use std::time::SystemTime;

use bytes::Bytes;
use clusterca_pki::{CertName, CertRequest, Reason, Ttl};
use clusterca_store::{inventory, Error as StoreError, GroupDone, GroupOp, GroupResult};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use time::OffsetDateTime;

use crate::State;

type Resp = Response<Full<Bytes>>;

/// Who is calling: the certificate the client presented, if any.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    /// Its CN.
    pub(crate) name: Option<String>,
    /// Whether it carries `pp_cli_auth: "true"`.
    pub(crate) cli_auth: bool,
    /// Its serial, to match against the CRL in use.
    pub(crate) serial_hex: String,
    /// The certificate, DER (what `certificate_renewal` renews).
    pub(crate) der: Vec<u8>,
}

impl Client {
    pub(crate) fn from_der(der: &[u8]) -> Client {
        match clusterca_pki::inspect::client_identity(der) {
            Ok(id) => Client {
                name: id.name,
                cli_auth: id.cli_auth,
                serial_hex: id.serial_hex,
                der: der.to_vec(),
            },
            Err(_) => Client {
                name: None,
                cli_auth: false,
                serial_hex: String::new(),
                der: der.to_vec(),
            },
        }
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Full::new(body.into()))
        .unwrap_or_default()
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Resp {
    let body = clusterca_pki::json_escape_bidi(serde_json::to_string(value).unwrap_or_default());
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body.into()))
        .unwrap_or_default()
}

fn empty(status: StatusCode) -> Resp {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::new()))
        .unwrap_or_default()
}

fn forbidden(method: &Method, path: &str) -> Resp {
    text(
        StatusCode::FORBIDDEN,
        format!(
            "Forbidden request: {} (method :{}). Please see the server logs for details.",
            shown_path(path),
            method.as_str().to_ascii_lowercase()
        ),
    )
}

/// A request path as an answer or the log repeats it: as sent when it is short printable
/// ASCII (Puppet's texts), else quoted (escaped, at most 80 bytes).
pub(crate) fn shown_path(path: &str) -> std::borrow::Cow<'_, str> {
    if path.len() <= 80 && path.bytes().all(|b| b.is_ascii_graphic()) {
        path.into()
    } else {
        clusterca_store::quote(path).into()
    }
}

fn standby() -> Resp {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "This CA server is the standby: the active signer holds the lease; retry against it.",
    )
}

/// A failed store call as an HTTP answer. What the caller can act on (a refused request, a
/// name's state) is told in Puppet's way; everything about the server itself (its paths, its
/// lock holder, an I/O error, the CLI's advice) goes to the log only.
fn store_error(e: &StoreError) -> Resp {
    match e {
        StoreError::Pki { source, .. } => text(StatusCode::BAD_REQUEST, source.to_string()),
        e @ (StoreError::AlreadySigned { .. }
        | StoreError::NoRequest { .. }
        | StoreError::AlreadyFiled { .. }
        | StoreError::NotSigned { .. }
        | StoreError::Unknown { .. }) => text(StatusCode::BAD_REQUEST, e.to_string()),
        e @ StoreError::Busy { .. } => {
            crate::log(serde_json::json!({"event": "busy", "message": e.to_string()}));
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "The CA is busy: another signer holds its lock. Retry in a moment.",
            )
        }
        e => {
            crate::log(serde_json::json!({"event": "error", "message": e.to_string()}));
            internal()
        }
    }
}

/// Runs a store call on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

/// What a request asks for, decided from its method and path alone (`HEAD` is routed as
/// `GET`; hyper sends the headers without the body). The certname in a path is validated here,
/// before anything is built from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /status/v1/simple[/ca]`.
    Health,
    /// `GET certificate/ca`.
    CaCertificate,
    /// `GET certificate/NAME`.
    Certificate(CertName),
    /// `GET certificate_request/NAME`.
    GetRequest(CertName),
    /// `PUT certificate_request/NAME`.
    PutRequest(CertName),
    /// `GET certificate_status/NAME` (admin).
    GetStatus(CertName),
    /// `PUT certificate_status/NAME` (admin).
    SetStatus(CertName),
    /// `DELETE certificate_status/NAME` (admin).
    DeleteStatus(CertName),
    /// `GET certificate_statuses/...` (admin).
    Statuses,
    /// `GET certificate_revocation_list/ca`.
    Crl,
    /// `PUT clean` (admin).
    Clean,
    /// `GET expirations` (any client with a certificate).
    Expirations,
    /// `POST certificate_renewal` (a client with a certificate: its own renewed).
    Renewal,
    /// A certname in the path that is not one: 400 with this text.
    BadName {
        /// The refusal.
        message: String,
        /// Whether the endpoint is an admin's (a non-admin gets 403, not the refusal).
        admin: bool,
    },
    /// 404.
    NoRoute,
}

impl Route {
    /// Only admins (`--admin` names, `pp_cli_auth` holders) may call it.
    pub fn admin_only(&self) -> bool {
        matches!(
            self,
            Route::GetStatus(_)
                | Route::SetStatus(_)
                | Route::DeleteStatus(_)
                | Route::Statuses
                | Route::Clean
                | Route::BadName { admin: true, .. }
        )
    }

    /// It changes the store (only the active signer does) and reads a body.
    pub fn mutating(&self) -> bool {
        matches!(
            self,
            Route::PutRequest(_)
                | Route::SetStatus(_)
                | Route::DeleteStatus(_)
                | Route::Clean
                | Route::Renewal
        )
    }
}

/// Routes `method` and `path` (without the query).
pub fn route(method: &str, path: &str) -> Route {
    let get = method == "GET" || method == "HEAD";
    if get && (path == "/status/v1/simple/ca" || path == "/status/v1/simple") {
        return Route::Health;
    }
    let Some(rest) = path.strip_prefix("/puppet-ca/v1/") else {
        return Route::NoRoute;
    };
    let (endpoint, arg) = rest.split_once('/').unwrap_or((rest, ""));
    let admin = matches!(
        endpoint,
        "certificate_status" | "certificate_statuses" | "clean"
    );
    let named = |make: fn(CertName) -> Route| match certname(arg) {
        Ok(n) => make(n),
        Err(message) => Route::BadName { message, admin },
    };
    // A new request's name becomes its DNS alt name: it must be a DNS name (names signed
    // before, by Puppet, may hold an '_' and stay reachable).
    let new_name = |make: fn(CertName) -> Route| match certname(arg)
        .and_then(|n| n.check_dns().map(|()| n).map_err(|e| e.to_string()))
    {
        Ok(n) => make(n),
        Err(message) => Route::BadName { message, admin },
    };
    match (method, endpoint) {
        (_, "certificate") if get && arg == "ca" => Route::CaCertificate,
        (_, "certificate") if get => named(Route::Certificate),
        (_, "certificate_request") if get => named(Route::GetRequest),
        ("PUT", "certificate_request") => new_name(Route::PutRequest),
        (_, "certificate_status") if get => named(Route::GetStatus),
        ("PUT", "certificate_status") => named(Route::SetStatus),
        ("DELETE", "certificate_status") => named(Route::DeleteStatus),
        (_, "certificate_statuses") if get => Route::Statuses,
        (_, "certificate_revocation_list") if get && arg == "ca" => Route::Crl,
        ("PUT", "clean") if arg.is_empty() => Route::Clean,
        (_, "expirations") if get && arg.is_empty() => Route::Expirations,
        ("POST", "certificate_renewal") if arg.is_empty() => Route::Renewal,
        _ => Route::NoRoute,
    }
}

/// The certname in a path; a bad one is a 400 with this text.
fn certname(arg: &str) -> Result<CertName, String> {
    let refusal = |e: clusterca_pki::Error| {
        // "Must be lower case" only where lower case would do (not for `..%2F`).
        if arg.chars().any(|c| c.is_ascii_uppercase())
            && arg.to_ascii_lowercase().parse::<CertName>().is_ok()
        {
            "Certificate names must be lower case.".to_owned()
        } else {
            e.to_string()
        }
    };
    arg.parse().map_err(refusal)
}

/// How a request's body is read: within the request's deadline, at most the limit.
pub(crate) struct Limits {
    /// When the request must have been read whole.
    pub(crate) deadline: tokio::time::Instant,
    /// The largest body.
    pub(crate) body: usize,
}

/// The most of a refused body read (and thrown away) so that the client, still sending, reads
/// the 413 instead of a reset connection.
const DRAIN_LIMIT: u64 = 16 << 20;

enum BodyError {
    TooLarge(Incoming),
    Timeout,
    Broken,
}

/// Reads the body whole, refusing it on `Content-Length` before reading when that says it is
/// too large.
async fn read_body(
    mut body: Incoming,
    length: Option<u64>,
    limits: &Limits,
) -> Result<Bytes, BodyError> {
    if length.is_some_and(|n| n > limits.body as u64) {
        return Err(BodyError::TooLarge(body));
    }
    let mut out = bytes::BytesMut::new();
    loop {
        match tokio::time::timeout_at(limits.deadline, body.frame()).await {
            Err(_) => return Err(BodyError::Timeout),
            Ok(None) => return Ok(out.freeze()),
            Ok(Some(Err(_))) => return Err(BodyError::Broken),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if out.len() + data.len() > limits.body {
                        return Err(BodyError::TooLarge(body));
                    }
                    out.extend_from_slice(&data);
                }
            }
        }
    }
}

/// How long a drain waits for more of a refused body before the connection is closed.
const DRAIN_IDLE: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads and throws away what is left of a refused body while hyper sends the answer (a
/// lingering close): at most [`DRAIN_LIMIT`] bytes, until the deadline, and no longer than
/// [`DRAIN_IDLE`] without data.
fn drain(mut body: Incoming, deadline: tokio::time::Instant) {
    tokio::spawn(async move {
        let mut seen = 0u64;
        while seen < DRAIN_LIMIT {
            let until = deadline.min(tokio::time::Instant::now() + DRAIN_IDLE);
            match tokio::time::timeout_at(until, body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    seen += frame.data_ref().map_or(0, |d| d.len() as u64);
                }
                _ => break,
            }
        }
    });
}

fn closing(mut resp: Resp) -> Resp {
    resp.headers_mut().insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("close"),
    );
    resp
}

pub(crate) async fn handle(
    state: &std::sync::Arc<State>,
    client: Option<&Client>,
    req: Request<Incoming>,
    limits: Limits,
) -> Resp {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let if_modified_since = req
        .headers()
        .get("if-modified-since")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let length = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());

    let route = route(method.as_str(), &path);
    if route == Route::Health {
        let active = state.active.load(Ordering::SeqCst);
        return text(StatusCode::OK, if active { "running" } else { "standby" });
    }
    if client.is_some_and(|c| state.revoked(c)) {
        // A client revoked since its handshake (a kept-alive or resumed session).
        return closing(text(
            StatusCode::FORBIDDEN,
            "Forbidden request: the client certificate has been revoked.",
        ));
    }
    let admin = client.is_some_and(|c| {
        c.cli_auth
            || c.name
                .as_ref()
                .is_some_and(|n| state.cfg.admins.iter().any(|a| a == n))
    });
    if route.admin_only() && !admin {
        return forbidden(&method, &path);
    }
    if route == Route::Expirations && client.is_none() {
        return forbidden(&method, &path);
    }
    let route = match route {
        Route::BadName { message, .. } => return text(StatusCode::BAD_REQUEST, message),
        Route::NoRoute if path.starts_with("/puppet-ca/v1/") => {
            // HEAD is answered as GET would be (the same length).
            let shown = if method == Method::HEAD {
                "GET"
            } else {
                method.as_str()
            };
            return text(
                StatusCode::NOT_FOUND,
                format!("No route for {shown} {}", shown_path(&path)),
            );
        }
        Route::NoRoute => {
            return text(
                StatusCode::NOT_FOUND,
                format!("No route for {}", shown_path(&path)),
            )
        }
        r => r,
    };
    if route.mutating() && !state.active.load(Ordering::SeqCst) {
        return standby();
    }
    let body = if route.mutating() {
        match read_body(req.into_body(), length, &limits).await {
            Ok(b) => b,
            Err(BodyError::TooLarge(rest)) => {
                drain(rest, limits.deadline);
                return closing(text(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("Request body larger than {} bytes.", limits.body),
                ));
            }
            Err(BodyError::Timeout) => {
                return closing(text(
                    StatusCode::REQUEST_TIMEOUT,
                    "The request was not received whole in time.",
                ))
            }
            Err(BodyError::Broken) => {
                return closing(text(
                    StatusCode::BAD_REQUEST,
                    "Could not read the request body.",
                ))
            }
        }
    } else {
        Bytes::new()
    };

    let st = state.clone();
    match route {
        Route::CaCertificate => text(StatusCode::OK, state.auth.ca().chain_pem().to_owned()),
        Route::Certificate(name) => match state.auth.store().read_signed(&name).ok().flatten() {
            Some(b) => text(StatusCode::OK, b),
            None => text(
                StatusCode::NOT_FOUND,
                format!("Could not find certificate {name}"),
            ),
        },
        Route::GetRequest(name) => match state.auth.store().read_request(&name).ok().flatten() {
            Some(b) => text(StatusCode::OK, b),
            None => text(
                StatusCode::NOT_FOUND,
                format!("Could not find certificate_request {name}"),
            ),
        },
        Route::PutRequest(name) => {
            // An autosign executable runs on a blocking thread for up to 30 s: at most
            // POLICIES at once, so that slow policies cannot take every thread the store's
            // other work needs (the others wait here, holding no thread).
            let _policy = match state.cfg.autosign {
                crate::Autosign::Exec(_) => state.policies.acquire().await.ok(),
                _ => None,
            };
            let op = match blocking(move || submission(&st, &name, &body)).await {
                Some(Ok(op)) => op,
                Some(Err(refusal)) => return *refusal,
                None => return internal(),
            };
            submitted(state.batcher.run(op).await)
        }
        Route::GetStatus(name) => {
            let found =
                blocking(move || st.auth.store().puppet_statuses(OffsetDateTime::now_utc())).await;
            match found {
                Some(Ok(all)) => match all.into_iter().find(|s| s.name == name.as_str()) {
                    Some(s) => json(StatusCode::OK, &s),
                    None => text(StatusCode::NOT_FOUND, "Invalid certificate subject."),
                },
                Some(Err(e)) => store_error(&e),
                None => internal(),
            }
        }
        Route::SetStatus(name) => {
            let wanted = blocking({
                let name = name.clone();
                move || set_status(&st, &name, &body)
            })
            .await;
            match wanted {
                Some(Ok(op)) => match state.batcher.run(op).await {
                    Some(Ok(_)) => empty(StatusCode::NO_CONTENT),
                    Some(Err(e)) => sign_refusal(&name, &e),
                    None => internal(),
                },
                Some(Err(resp)) => *resp,
                None => internal(),
            }
        }
        Route::DeleteStatus(name) => blocking(move || delete(&st, &name))
            .await
            .unwrap_or_else(internal),
        Route::Statuses => {
            let wanted = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("state="))
                .map(str::to_owned);
            match blocking(move || st.auth.store().puppet_statuses(OffsetDateTime::now_utc())).await
            {
                Some(Ok(all)) => {
                    let list: Vec<_> = all
                        .into_iter()
                        .filter(|s| wanted.as_deref().is_none_or(|w| w == s.state.name()))
                        .collect();
                    json(StatusCode::OK, &list)
                }
                Some(Err(e)) => store_error(&e),
                None => internal(),
            }
        }
        Route::Crl => crl(state, if_modified_since.as_deref()),
        Route::Clean => blocking(move || clean(&st, &body))
            .await
            .unwrap_or_else(internal),
        Route::Expirations => expirations(state),
        Route::Renewal => {
            let client = client.cloned();
            blocking(move || renewal(&st, client.as_ref()))
                .await
                .unwrap_or_else(internal)
        }
        Route::Health | Route::BadName { .. } | Route::NoRoute => internal(),
    }
}

fn internal() -> Resp {
    text(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error; the CA server's log says more.",
    )
}

/// `PUT certificate_request/{name}`, up to the group commit: the request parsed and checked,
/// and the autosign decision (an executable may run up to 30 s, here on a blocking thread).
/// A refusal is the answer.
fn submission(st: &State, name: &CertName, body: &[u8]) -> Result<GroupOp, Box<Resp>> {
    let req = CertRequest::parse(body).map_err(|e| {
        Box::new(text(
            StatusCode::BAD_REQUEST,
            format!("Invalid certificate request: {e}"),
        ))
    })?;
    // The store refuses in Puppet's words: a CN that is not the name, or a name that already
    // has a requested, signed or revoked certificate. Asked now to answer at once, and again
    // under the lock in the group commit (another server may have filed it meanwhile).
    st.auth
        .store()
        .check_submittable(name, &req)
        .map_err(|e| Box::new(store_error(&e)))?;
    // An admin is made by an admin: a name given in --admin, or a request for pp_cli_auth,
    // waits for one whatever the autosign setting says.
    let never = if st.cfg.admins.iter().any(|a| a == name.as_str()) {
        Some("an admin name is never autosigned")
    } else if req.asks_cli_auth {
        Some("a request for pp_cli_auth is never autosigned")
    } else {
        None
    };
    let autosign = match never {
        Some(reason) => {
            if st.cfg.autosign != crate::Autosign::Off {
                crate::log(serde_json::json!({"event": "autosign-refused",
                    "name": name.as_str(), "message": reason}));
            }
            false
        }
        None => st.cfg.autosign.allows(name.as_str(), &req.pem),
    };
    Ok(GroupOp::Submit {
        name: name.clone(),
        req,
        autosign,
        ttl: Ttl::LEAF_DEFAULT,
    })
}

/// The answer to `PUT certificate_request` once its group is committed.
fn submitted(result: Option<GroupResult>) -> Resp {
    match result {
        Some(Ok(GroupDone::Signed(c))) => {
            crate::log(
                serde_json::json!({"event": "autosigned", "name": c.name.as_str(),
                "serial": c.serial}),
            );
            empty(StatusCode::OK)
        }
        Some(Ok(GroupDone::Queued {
            autosign_refused,
            store_error,
        })) => {
            // The request stays queued for an admin, as Puppet leaves a refused autosign.
            if let Some(e) = store_error {
                crate::log(serde_json::json!({"event": "error", "message": e.to_string()}));
            }
            if let Some(message) = autosign_refused {
                crate::log(serde_json::json!({"event": "autosign-refused", "message": message}));
            }
            empty(StatusCode::OK)
        }
        Some(Err(e)) => store_error(&e),
        None => internal(),
    }
}

/// `PUT certificate_status/{name}` with `{"desired_state":"signed"|"revoked"}`: a signing is
/// returned as the op for the group commit, anything else is answered here.
fn set_status(st: &State, name: &CertName, body: &[u8]) -> Result<GroupOp, Box<Resp>> {
    let body =
        json_object(body).map_err(|refusal| Box::new(text(StatusCode::BAD_REQUEST, refusal)))?;
    let Some(desired_state) = body.get("desired_state").and_then(|v| v.as_str()) else {
        return Err(Box::new(text(
            StatusCode::BAD_REQUEST,
            format!("Must specify desired state of 'signed' or 'revoked' for host {name}."),
        )));
    };
    let now = OffsetDateTime::now_utc();
    let names = std::slice::from_ref(name);
    match desired_state {
        "signed" => {
            // The precondition of every signing path (Authority::sign), asked first so that
            // a missing request is a 404 whatever else the body says.
            if let Err(e) = st.auth.store().require_requests(names) {
                return Err(Box::new(sign_refusal(name, &e)));
            }
            // Given, cert_ttl must be a number in range (null included: not a lifetime).
            let ttl = match body.get("cert_ttl").map(|v| cert_ttl(st, v, now)) {
                None => Ttl::LEAF_DEFAULT,
                Some(Ok(t)) => t,
                Some(Err(msg)) => return Err(Box::new(text(StatusCode::BAD_REQUEST, msg))),
            };
            Ok(GroupOp::Sign {
                name: name.clone(),
                ttl,
            })
        }
        "revoked" => {
            let revoked = st.auth.revoke(names, &[], Reason::KeyCompromise, false, now);
            Err(Box::new(match revoked {
                Ok(_) => {
                    st.reload_crl(true);
                    empty(StatusCode::NO_CONTENT)
                }
                Err(StoreError::NotSigned { .. }) => text(
                    StatusCode::CONFLICT,
                    format!("Cannot revoke certificate for host {name} without a signed certificate"),
                ),
                Err(e) => store_error(&e),
            }))
        }
        other => Err(Box::new(text(
            StatusCode::BAD_REQUEST,
            format!("State {} invalid; Must specify desired state of 'signed' or 'revoked' for host {name}.", clusterca_store::quote(other)),
        ))),
    }
}

/// Puppet's answers to a signing the store refused.
fn sign_refusal(name: &CertName, e: &StoreError) -> Resp {
    match e {
        StoreError::NoRequest { .. } => text(StatusCode::NOT_FOUND, "Invalid certificate subject."),
        StoreError::AlreadySigned { .. } => text(
            StatusCode::CONFLICT,
            format!("No certificate request for {name} to sign"),
        ),
        StoreError::Pki { source, .. } => text(StatusCode::CONFLICT, source.to_string()),
        e => store_error(e),
    }
}

/// `POST certificate_renewal` (Puppet's auto-renewal): the client's own certificate, renewed
/// for its own certname with the same key and extensions, `--auto-renewal-ttl` long. The
/// client got here through the TLS verifier (a certificate of this CA bundle, not on the CRL
/// in use); the CA checks again that it issued the certificate.
fn renewal(st: &State, client: Option<&Client>) -> Resp {
    if !st.cfg.allow_auto_renewal {
        return text(StatusCode::NOT_FOUND, "Not Found");
    }
    let Some(client) = client else {
        return text(
            StatusCode::FORBIDDEN,
            "No valid certificate found in renewal request",
        );
    };
    let Some(name) = client
        .name
        .as_deref()
        .and_then(|n| n.parse::<CertName>().ok())
    else {
        return text(
            StatusCode::FORBIDDEN,
            "Certificate present, but its subject is not a certname",
        );
    };
    let job = clusterca_store::RenewJob {
        names: vec![name.clone()],
        ttl: st.cfg.auto_renewal_ttl,
        rekey: None,
        out: None,
        supersede: false,
        crl_lifetime: st.auth.crl_ttl(),
        presented: Some(client.der.clone()),
    };
    match st.auth.renew(job, OffsetDateTime::now_utc()) {
        Ok(done) => match done.renewed.into_iter().next() {
            Some(r) => {
                crate::log(
                    serde_json::json!({"event": "renewed", "name": name.as_str(),
                    "serial": r.cert.serial, "old_serial": r.old_serial}),
                );
                text(StatusCode::OK, r.cert.pem)
            }
            None => internal(),
        },
        Err(StoreError::Pki { source, .. }) => text(
            StatusCode::FORBIDDEN,
            format!("Certificate present, but not renewable: {source}"),
        ),
        Err(e @ StoreError::NotSigned { .. }) => text(StatusCode::FORBIDDEN, e.to_string()),
        Err(e) => store_error(&e),
    }
}

/// A request body that must be one JSON object (not an array standing in for one).
/// A refusal is the 400's text.
fn json_object(body: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_slice(body) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err("The request body must be a JSON object.".to_owned()),
        Err(e) => Err(format!("Request body is not valid JSON: {e}")),
    }
}

/// `cert_ttl` of `PUT certificate_status`: whole seconds from 1 to what is left of the CA
/// certificate's validity (a certificate must not outlive its issuer).
fn cert_ttl(st: &State, value: &serde_json::Value, now: OffsetDateTime) -> Result<Ttl, String> {
    let left = (st.auth.ca().validity().1 - now).whole_seconds().max(0) as u64;
    match value.as_u64() {
        Some(secs) if (1..=left).contains(&secs) => Ok(Ttl::from_secs(secs)),
        _ => Err(format!(
            "cert_ttl must be a whole number of seconds from 1 to {left} (what is left of the CA certificate's validity); got {}",
            clusterca_store::quote(&value.to_string())
        )),
    }
}

/// `DELETE certificate_status/{name}`: removes the signed and request files (no revocation).
fn delete(st: &State, name: &CertName) -> Resp {
    let removed = st.auth.remove(std::slice::from_ref(name));
    match removed {
        Ok(files) if files.is_empty() => {
            text(StatusCode::NOT_FOUND, "Invalid certificate subject.")
        }
        Ok(_) => empty(StatusCode::NO_CONTENT),
        Err(e) => store_error(&e),
    }
}

/// `PUT clean` with `{"certnames":[...]}`: revoke, then remove.
fn clean(st: &State, body: &[u8]) -> Resp {
    let body = match json_object(body) {
        Ok(b) => b,
        Err(refusal) => return text(StatusCode::BAD_REQUEST, refusal),
    };
    let Some(certnames) = body.get("certnames").and_then(|v| v.as_array()) else {
        return text(
            StatusCode::BAD_REQUEST,
            "The request body must name the certnames to clean: {\"certnames\":[...]}.",
        );
    };
    let parsed: Result<Vec<CertName>, String> = certnames
        .iter()
        .map(|n| match n.as_str() {
            Some(n) => certname(n),
            None => Err(format!(
                "certnames must be strings; got {}",
                clusterca_store::quote(&n.to_string())
            )),
        })
        .collect();
    let names = match parsed {
        Ok(n) if n.is_empty() => {
            return text(StatusCode::BAD_REQUEST, "No certnames to clean were given.")
        }
        Ok(n) => n,
        Err(e) => return text(StatusCode::BAD_REQUEST, e),
    };
    let done = st.auth.clean(&names, OffsetDateTime::now_utc());
    if done.is_ok() {
        st.reload_crl(true);
    }
    match done {
        Ok(_) => text(
            StatusCode::OK,
            format!(
                "Successfully cleaned all certs for {}",
                names
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Err(e @ StoreError::Unknown { .. }) => text(StatusCode::NOT_FOUND, e.to_string()),
        Err(e) => store_error(&e),
    }
}

fn http_date(t: SystemTime) -> String {
    let t = OffsetDateTime::from(t);
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[u8::from(t.month()) as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `GET certificate_revocation_list/ca`, with `Last-Modified` and `If-Modified-Since`: the
/// CRL in use, as `serve` last read it (no request reads the file).
fn crl(st: &State, if_modified_since: Option<&str>) -> Resp {
    let (bytes, modified) = st.crl();
    let Some(modified) = modified.filter(|_| !bytes.is_empty()) else {
        return text(
            StatusCode::NOT_FOUND,
            "Could not find certificate_revocation_list ca",
        );
    };
    let modified = http_date(modified);
    if let Some(since) = if_modified_since {
        let newer = parse_http_date(&modified)
            .zip(parse_http_date(since))
            .is_some_and(|(m, s)| m > s);
        if !newer && parse_http_date(since).is_some() {
            return empty(StatusCode::NOT_MODIFIED);
        }
    }
    let mut resp = text(StatusCode::OK, bytes);
    if let Ok(v) = modified.parse() {
        resp.headers_mut().insert("last-modified", v);
    }
    resp
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) as seconds since the epoch.
fn parse_http_date(s: &str) -> Option<i64> {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(s.trim(), &fmt)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// `GET expirations`: notAfter of the CA certificates and nextUpdate of the CRLs.
fn expirations(st: &State) -> Resp {
    let now = OffsetDateTime::now_utc();
    let cn = |subject: &str| {
        subject
            .split(',')
            .find_map(|p| p.trim().strip_prefix("CN="))
            .unwrap_or(subject)
            .to_owned()
    };
    let mut cas = serde_json::Map::new();
    for der in clusterca_pki::inspect::certificates(st.auth.ca().chain_pem().as_bytes())
        .unwrap_or_default()
    {
        if let Ok(info) = clusterca_pki::inspect::certificate_info(&der, now) {
            if let Some(t) = info.not_after_time {
                cas.insert(cn(&info.subject), inventory::format_time(t).into());
            }
        }
    }
    let mut crls = serde_json::Map::new();
    let (crl_pem, _) = st.crl();
    for der in clusterca_pki::inspect::crls(&crl_pem).unwrap_or_default() {
        if let Ok(info) = clusterca_pki::inspect::crl_info(&der) {
            if let Some(t) = info.next_update_time {
                crls.insert(cn(&info.issuer), inventory::format_time(t).into());
            }
        }
    }
    json(
        StatusCode::OK,
        &serde_json::json!({"ca-certs": cas, "crls": crls}),
    )
}
