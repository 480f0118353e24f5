//! The server's TLS identity (a certificate from the CA itself, issued on first start) and the
//! client verifier: a client certificate is wanted, not required, as Puppet Server's
//! `client-auth: want`; one that is presented must chain to the CA and not be revoked.

use std::sync::{Arc, PoisonError, RwLock};

use clusterca_pki::{CertificateAuthority, KeyType, LeafSpec, Ttl};
use clusterca_store::{IssueJob, Store};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};

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

/// The client verifier over the CA's current CRL. `serve` rebuilds the inner verifier whenever
/// the CRL changes ([`ReloadingVerifier::reload`]), so a certificate revoked a moment ago fails
/// its next handshake.
#[derive(Debug)]
pub(crate) struct ReloadingVerifier {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    hints: Vec<DistinguishedName>,
    current: RwLock<Arc<dyn ClientCertVerifier>>,
}

impl ReloadingVerifier {
    fn build(
        roots: &Arc<RootCertStore>,
        provider: &Arc<CryptoProvider>,
        crl_pem: &[u8],
    ) -> Result<Arc<dyn ClientCertVerifier>, String> {
        let crls = CertificateRevocationListDer::pem_slice_iter(crl_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("the CRL is not PEM: {e}"))?;
        WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .with_crls(crls)
            .only_check_end_entity_revocation()
            .allow_unknown_revocation_status()
            .allow_unauthenticated()
            .build()
            .map_err(|e| e.to_string())
    }

    /// Puts a verifier over `crl_pem` in place; on an error the one in use stays.
    pub(crate) fn reload(&self, crl_pem: &[u8]) -> Result<(), String> {
        let next = Self::build(&self.roots, &self.provider, crl_pem)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = next;
        Ok(())
    }

    fn now(&self) -> Arc<dyn ClientCertVerifier> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ClientCertVerifier for ReloadingVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.now()
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.now().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.now().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.now().supported_verify_schemes()
    }
}

pub(crate) fn server_config(
    store: &Store,
    ca: &CertificateAuthority,
    cfg: &Config,
    crl_pem: &[u8],
) -> Result<(rustls::ServerConfig, Arc<ReloadingVerifier>), Error> {
    let provider = Arc::new(prefer_sha256(rustls::crypto::aws_lc_rs::default_provider()));
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
    let hints = roots.subjects();
    let roots = Arc::new(roots);
    let first =
        ReloadingVerifier::build(&roots, &provider, crl_pem).map_err(setup("client verifier"))?;
    let verifier = Arc::new(ReloadingVerifier {
        roots,
        provider: provider.clone(),
        hints,
        current: RwLock::new(first),
    });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| setup("TLS")(e.to_string()))?
        .with_client_cert_verifier(verifier.clone())
        .with_single_cert(chain, key)
        .map_err(|e| setup("server certificate")(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // Our order, not the client's: agents (OpenSSL, rustls) list AES-256-GCM-SHA384 first.
    config.ignore_client_order = true;
    Ok((config, verifier))
}

/// `provider` with the SHA-256 suites first (same ciphers, same strength class): SHA-256 runs
/// on the CPU's SHA extensions, SHA-384 does not, and a TLS 1.3 handshake hashes its
/// transcript and derives its keys with the suite's hash (measured: SHA-512 blocks were 5% of
/// `serve`'s CPU in a bootstrap storm).
fn prefer_sha256(mut provider: rustls::crypto::CryptoProvider) -> rustls::crypto::CryptoProvider {
    use rustls::{crypto::hash::HashAlgorithm, SupportedCipherSuite};
    provider.cipher_suites.sort_by_key(|s| {
        let common = match s {
            SupportedCipherSuite::Tls12(s) => &s.common,
            SupportedCipherSuite::Tls13(s) => &s.common,
        };
        common.hash_provider.algorithm() != HashAlgorithm::SHA256
    });
    provider
}
