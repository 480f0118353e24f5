//! `clusterca serve`: the Puppet CA HTTP API.

use clusterca_pki::{AltName, CertName};
use clusterca_server::{Autosign, Config};

use crate::cli::{Global, ServeArgs};
use crate::{Failure, Kind, Outcome};

impl From<clusterca_server::Error> for Failure {
    fn from(e: clusterca_server::Error) -> Self {
        match e {
            // The store's errors keep the CLI's exit codes (busy 3, I/O 4, input 2).
            clusterca_server::Error::Store(s) => Failure::from(s),
            e @ clusterca_server::Error::LeaseHeld { .. } => Failure {
                kind: Kind::Busy,
                message: e.to_string(),
            },
            e => Failure {
                kind: Kind::System,
                message: e.to_string(),
            },
        }
    }
}

pub fn run(g: &Global, args: &ServeArgs) -> Result<Outcome, Failure> {
    let listen = args.listen.parse().map_err(|_| {
        Failure::input(format!(
            "invalid --listen {:?}: expected ADDR:PORT, e.g. 0.0.0.0:8140",
            args.listen
        ))
    })?;
    let cert_name: CertName = match &args.cert_name {
        Some(n) => n.parse()?,
        None => nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_else(|_| "localhost".into())
            .parse()?,
    };
    let alt_names = args
        .alt_names
        .iter()
        .map(|a| a.parse())
        .collect::<Result<Vec<AltName>, _>>()?;
    let next_update = args.next_update;
    let crl_refresh = args
        .crl_refresh
        .unwrap_or_else(|| clusterca_pki::Ttl::from_secs(next_update.as_secs() / 4));
    if crl_refresh.as_secs() >= next_update.as_secs() {
        return Err(Failure::input(format!(
            "--crl-refresh {}: must be shorter than --next-update {} (the CRL would be signed again at once, for ever)",
            crl_refresh, args.next_update
        )));
    }
    let cfg = Config {
        dir: g.dir.clone(),
        listen,
        cert_name,
        alt_names,
        autosign: Autosign::parse(&args.autosign),
        admins: args.admins.clone(),
        standby: args.standby,
        shared: args.shared,
        lock_timeout: g.lock_timeout,
        max_connections: args.max_connections,
        body_limit: 64 * 1024,
        header_timeout: args.header_timeout,
        request_timeout: args.request_timeout,
        max_per_address: args.max_connections_per_address,
        next_update,
        crl_refresh,
        allow_auto_renewal: args.allow_auto_renewal,
        auto_renewal_ttl: args.auto_renewal_ttl,
    };
    clusterca_server::run(cfg, |_| {})?;
    Ok(Outcome::Clean)
}
