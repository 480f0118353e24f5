//! `/puppet-ca/v1` and `/status/v1/simple`: routes, authorization (Puppet's default
//! auth.conf), and the store calls behind them. Status codes, content types and messages are
//! Puppet Server 7's (PUPPET.md).

use std::sync::atomic::Ordering;
use std::time::SystemTime;

use bytes::Bytes;
use clusterca_pki::{AltNamePolicy, CertName, CertRequest, Ttl};
use clusterca_store::{inventory, CertState, Error as StoreError};
use http_body_util::{BodyExt, Full, Limited};
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
}

impl Client {
    pub(crate) fn from_der(der: &[u8]) -> Client {
        let (name, cli_auth) =
            clusterca_pki::inspect::client_identity(der).unwrap_or((None, false));
        Client { name, cli_auth }
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
    let body = serde_json::to_vec(value).unwrap_or_default();
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
            "Forbidden request: {path} (method :{}). Please see the server logs for details.",
            method.as_str().to_ascii_lowercase()
        ),
    )
}

fn standby() -> Resp {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "This CA server is the standby: the active signer holds the lease; retry against it.",
    )
}

/// A failed store call as an HTTP answer. A certificate or request problem is told without
/// the server's file path, as Puppet tells it.
fn store_error(e: StoreError) -> Resp {
    match &e {
        StoreError::Busy { .. } => text(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        StoreError::Io { .. }
        | StoreError::Unfinished { .. }
        | StoreError::SerialExhausted { .. } => {
            text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
        StoreError::Pki { source, .. } => text(StatusCode::BAD_REQUEST, source.to_string()),
        _ => text(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// Runs a store call on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

/// The certname in a path, validated before any path is built from it; a bad one is a 400.
fn certname(arg: &str) -> Result<CertName, String> {
    arg.parse::<CertName>().map_err(|e| {
        if arg.chars().any(|c| c.is_ascii_uppercase()) {
            "Certificate names must be lower case.".to_owned()
        } else {
            e.to_string()
        }
    })
}

macro_rules! certname {
    ($arg:expr) => {
        match certname($arg) {
            Ok(n) => n,
            Err(msg) => return text(StatusCode::BAD_REQUEST, msg),
        }
    };
}

pub(crate) async fn handle(
    state: &std::sync::Arc<State>,
    client: Option<&Client>,
    req: Request<Incoming>,
) -> Resp {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let if_modified_since = req
        .headers()
        .get("if-modified-since")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    if path == "/status/v1/simple/ca" || path == "/status/v1/simple" {
        let active = state.active.load(Ordering::SeqCst);
        return text(StatusCode::OK, if active { "running" } else { "standby" });
    }
    let Some(rest) = path.strip_prefix("/puppet-ca/v1/") else {
        return text(StatusCode::NOT_FOUND, format!("No route for {path}"));
    };
    let (endpoint, arg) = rest.split_once('/').unwrap_or((rest, ""));
    let admin = client.is_some_and(|c| {
        c.cli_auth
            || c.name
                .as_ref()
                .is_some_and(|n| state.cfg.admins.iter().any(|a| a == n))
    });
    let needs_admin = matches!(
        endpoint,
        "certificate_status" | "certificate_statuses" | "clean"
    );
    if needs_admin && !admin {
        return forbidden(&method, &path);
    }
    if endpoint == "expirations" && client.is_none() {
        return forbidden(&method, &path);
    }
    let mutating = method != Method::GET && method != Method::HEAD;
    if mutating && !state.active.load(Ordering::SeqCst) {
        return standby();
    }
    let body = if mutating {
        match Limited::new(req.into_body(), state.cfg.body_limit)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return text(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body larger than {} bytes", state.cfg.body_limit),
                )
            }
            Err(_) => return text(StatusCode::BAD_REQUEST, "could not read the request body"),
        }
    } else {
        Bytes::new()
    };

    let st = state.clone();
    match (method.clone(), endpoint) {
        (Method::GET, "certificate") if arg == "ca" => {
            text(StatusCode::OK, state.ca.chain_pem().to_owned())
        }
        (Method::GET, "certificate") => {
            let name = certname!(arg);
            match state.store.read_signed(&name).ok().flatten() {
                Some(b) => text(StatusCode::OK, b),
                None => text(
                    StatusCode::NOT_FOUND,
                    format!("Could not find certificate {name}"),
                ),
            }
        }
        (Method::GET, "certificate_request") => {
            let name = certname!(arg);
            match state.store.read_request(&name).ok().flatten() {
                Some(b) => text(StatusCode::OK, b),
                None => text(
                    StatusCode::NOT_FOUND,
                    format!("Could not find certificate_request {name}"),
                ),
            }
        }
        (Method::PUT, "certificate_request") => {
            let name = certname!(arg);
            blocking(move || submit(&st, &name, &body))
                .await
                .unwrap_or_else(internal)
        }
        (Method::GET, "certificate_status") => {
            let name = certname!(arg);
            let found = blocking(move || st.store.statuses(OffsetDateTime::now_utc())).await;
            match found {
                Some(Ok(all)) => match all.into_iter().find(|s| s.name == name.as_str()) {
                    Some(s) => json(StatusCode::OK, &s),
                    None => text(StatusCode::NOT_FOUND, "Invalid certificate subject."),
                },
                Some(Err(e)) => store_error(e),
                None => internal(),
            }
        }
        (Method::PUT, "certificate_status") => {
            let name = certname!(arg);
            blocking(move || set_status(&st, &name, &body))
                .await
                .unwrap_or_else(internal)
        }
        (Method::DELETE, "certificate_status") => {
            let name = certname!(arg);
            blocking(move || delete(&st, &name))
                .await
                .unwrap_or_else(internal)
        }
        (Method::GET, "certificate_statuses") => {
            let wanted = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("state="))
                .map(str::to_owned);
            match blocking(move || st.store.statuses(OffsetDateTime::now_utc())).await {
                Some(Ok(all)) => {
                    let list: Vec<_> = all
                        .into_iter()
                        .filter(|s| {
                            wanted.as_deref().is_none_or(|w| {
                                let state = match s.state {
                                    CertState::Requested => "requested",
                                    CertState::Signed => "signed",
                                    CertState::Revoked => "revoked",
                                };
                                w == state
                            })
                        })
                        .collect();
                    json(StatusCode::OK, &list)
                }
                Some(Err(e)) => store_error(e),
                None => internal(),
            }
        }
        (Method::GET, "certificate_revocation_list") if arg == "ca" => {
            crl(state, if_modified_since.as_deref())
        }
        (Method::PUT, "clean") => blocking(move || clean(&st, &body))
            .await
            .unwrap_or_else(internal),
        (Method::GET, "expirations") => expirations(state),
        _ => text(
            StatusCode::NOT_FOUND,
            format!("No route for {} {path}", method.as_str()),
        ),
    }
}

fn internal() -> Resp {
    text(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

fn policy(st: &State) -> Result<AltNamePolicy, StoreError> {
    Ok(AltNamePolicy::new(st.store.allowed_alt_names()?))
}

/// `PUT certificate_request/{name}`: file it, then autosign if configured.
fn submit(st: &State, name: &CertName, body: &[u8]) -> Resp {
    let req = match CertRequest::parse(body) {
        Ok(r) => r,
        Err(e) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("Invalid certificate request: {e}"),
            )
        }
    };
    // The store refuses in Puppet's words: a CN that is not the name, or a name that already
    // has a requested, signed or revoked certificate.
    if let Err(e) = st
        .store
        .signer(st.cfg.lock_timeout)
        .and_then(|mut s| s.submit(name, &req))
    {
        return store_error(e);
    }
    if st.cfg.autosign.allows(name.as_str(), &req.pem) {
        let signed = policy(st).and_then(|p| {
            st.store.signer(st.cfg.lock_timeout)?.sign_requests(
                &st.ca,
                std::slice::from_ref(name),
                &p,
                Ttl::LEAF_DEFAULT,
                OffsetDateTime::now_utc(),
            )
        });
        match signed {
            Ok(c) => crate::log(
                serde_json::json!({"event": "autosigned", "name": name.as_str(),
                "serial": c.first().map(|c| c.serial)}),
            ),
            // The request stays queued for an admin, as Puppet leaves a refused autosign.
            Err(e) => crate::log(serde_json::json!({"event": "autosign-refused",
                "name": name.as_str(), "message": e.to_string()})),
        }
    }
    empty(StatusCode::OK)
}

/// `PUT certificate_status/{name}` with `{"desired_state":"signed"|"revoked"}`.
fn set_status(st: &State, name: &CertName, body: &[u8]) -> Resp {
    #[derive(serde::Deserialize)]
    struct Desired {
        desired_state: String,
        cert_ttl: Option<u64>,
    }
    let desired: Desired = match serde_json::from_slice(body) {
        Ok(d) => d,
        Err(e) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("Request body is not valid JSON: {e}"),
            )
        }
    };
    let now = OffsetDateTime::now_utc();
    match desired.desired_state.as_str() {
        "signed" => {
            if !st.store.has_request(name).unwrap_or(false) {
                let code = if st.store.has_signed(name).unwrap_or(false) {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::NOT_FOUND
                };
                return text(code, if code == StatusCode::NOT_FOUND {
                    "Invalid certificate subject.".to_owned()
                } else {
                    format!("No certificate request for {name} to sign")
                });
            }
            let ttl = desired.cert_ttl.map_or(Ttl::LEAF_DEFAULT, Ttl::from_secs);
            let signed = policy(st).and_then(|p| {
                st.store
                    .signer(st.cfg.lock_timeout)?
                    .sign_requests(&st.ca, std::slice::from_ref(name), &p, ttl, now)
            });
            match signed {
                Ok(_) => empty(StatusCode::NO_CONTENT),
                Err(e @ StoreError::Pki { .. }) => text(StatusCode::CONFLICT, e.to_string()),
                Err(e) => store_error(e),
            }
        }
        "revoked" => {
            let serial = match st.store.signed_serial(name) {
                Ok(s) => s,
                Err(StoreError::NotSigned { .. }) => {
                    return text(StatusCode::CONFLICT, format!("Cannot revoke certificate for host {name} without a signed certificate"))
                }
                Err(e) => return store_error(e),
            };
            let revoked = st.store.signer(st.cfg.lock_timeout).and_then(|mut s| {
                s.revoke_serials(&st.ca, &[serial], Ttl::from_secs(5 * 365 * 86_400), now)
            });
            match revoked {
                Ok(_) => empty(StatusCode::NO_CONTENT),
                Err(e) => store_error(e),
            }
        }
        other => text(
            StatusCode::BAD_REQUEST,
            format!("State {other} invalid; Must specify desired state of 'signed' or 'revoked' for host {name}."),
        ),
    }
}

/// `DELETE certificate_status/{name}`: removes the signed and request files (no revocation).
fn delete(st: &State, name: &CertName) -> Resp {
    let removed = st
        .store
        .signer(st.cfg.lock_timeout)
        .and_then(|mut s| s.remove(std::slice::from_ref(name)));
    match removed {
        Ok(files) if files.is_empty() => {
            text(StatusCode::NOT_FOUND, "Invalid certificate subject.")
        }
        Ok(_) => empty(StatusCode::NO_CONTENT),
        Err(e) => store_error(e),
    }
}

/// `PUT clean` with `{"certnames":[...]}`: revoke, then remove.
fn clean(st: &State, body: &[u8]) -> Resp {
    #[derive(serde::Deserialize)]
    struct Names {
        certnames: Vec<String>,
    }
    let names: Names = match serde_json::from_slice(body) {
        Ok(n) => n,
        Err(e) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("Request body is not valid JSON: {e}"),
            )
        }
    };
    let parsed: Result<Vec<CertName>, _> = names.certnames.iter().map(|n| n.parse()).collect();
    let names = match parsed {
        Ok(n) => n,
        Err(e) => return text(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let done = st.store.signer(st.cfg.lock_timeout).and_then(|mut s| {
        s.clean(
            &st.ca,
            &names,
            Ttl::from_secs(5 * 365 * 86_400),
            OffsetDateTime::now_utc(),
        )
    });
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
        Err(e) => store_error(e),
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

/// `GET certificate_revocation_list/ca`, with `Last-Modified` and `If-Modified-Since`.
fn crl(st: &State, if_modified_since: Option<&str>) -> Resp {
    let Ok((bytes, modified)) = st.store.read_crl_modified() else {
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
    for der in
        clusterca_pki::inspect::certificates(st.ca.chain_pem().as_bytes()).unwrap_or_default()
    {
        if let Ok(info) = clusterca_pki::inspect::certificate_info(&der, now) {
            if let Some(t) = info.not_after_time {
                cas.insert(cn(&info.subject), inventory::format_time(t).into());
            }
        }
    }
    let mut crls = serde_json::Map::new();
    let crl_pem = st.store.read_crl().unwrap_or_default();
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
