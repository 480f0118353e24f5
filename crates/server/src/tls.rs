//! The server's TLS identity (a certificate from the CA itself, issued on first start) and the
//! client verifier: a client certificate is wanted, not required, as Puppet Server's
//! `client-auth: want`; one that is presented must chain to the CA and not be revoked.

use std::sync::Arc;

use clusterca_pki::{CertificateAuthority, KeyType, LeafSpec, Ttl};
use clusterca_store::{IssueJob, Store};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::{Config, Error};

fn setup(what: &str) -> impl FnOnce(String) -> Error + '_ {
    move |e| Error::Setup(format!("{what}: {e}"))
}

/// `DIR/serve/NAME.pem` and `NAME.key.pem`, issued by the CA when missing.
fn identity(
    store: &Store,
    ca: &CertificateAuthority,
    cfg: &Config,
) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let dir = store.serve_dir()?;
    let (cert, key) = (
        format!("{}.pem", cfg.cert_name),
        format!("{}.key.pem", cfg.cert_name),
    );
    if !dir.exists(&cert) || !dir.exists(&key) {
        let spec = LeafSpec::new(
            cfg.cert_name.clone(),
            cfg.alt_names.iter().cloned(),
            Ttl::LEAF_DEFAULT,
        );
        let job = IssueJob {
            specs: vec![spec],
            key_type: KeyType::EcP256,
            out: &dir,
            lock_timeout: cfg.lock_timeout,
        };
        store.issue_with_new_keys(ca, job, time::OffsetDateTime::now_utc())?;
        crate::log(serde_json::json!({"event": "issued-server-certificate",
            "name": cfg.cert_name.as_str(), "certificate": dir.join(&cert).display().to_string()}));
    }
    let read = |name: &str| dir.read_bounded(name, clusterca_store::fsutil::MAX_PEM);
    Ok((read(&cert)?, read(&key)?))
}

pub(crate) fn server_config(
    store: &Store,
    ca: &CertificateAuthority,
    cfg: &Config,
) -> Result<rustls::ServerConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (cert_pem, key_pem) = identity(store, ca, cfg)?;
    let mut chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| setup("server certificate")(e.to_string()))?;
    let bundle: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(ca.chain_pem().as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| setup("CA bundle")(e.to_string()))?;
    chain.extend(bundle.iter().cloned());
    let key =
        PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| setup("server key")(e.to_string()))?;

    let mut roots = RootCertStore::empty();
    for c in bundle {
        roots
            .add(c)
            .map_err(|e| setup("CA bundle")(e.to_string()))?;
    }
    let crl_pem = store.read_crl().unwrap_or_default();
    let crls: Vec<CertificateRevocationListDer<'static>> =
        CertificateRevocationListDer::pem_slice_iter(&crl_pem)
            .filter_map(Result::ok)
            .collect();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(crls)
        .only_check_end_entity_revocation()
        .allow_unknown_revocation_status()
        .allow_unauthenticated()
        .build()
        .map_err(|e| setup("client verifier")(e.to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| setup("TLS")(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| setup("server certificate")(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
