//! The in-process signing floor of `benches/serve_vs_puppetserver.py`: a CA directory's CA
//! (`ca_crt.pem`, `ca_key.pem`) signs N leaf certificates from one CSR on every core, nothing
//! else (no files, no network): what no signer on this machine can beat with that CA key.
//!
//! ```text
//! sign_floor CA-DIR [N] [--verify]
//! ```
//!
//! With `--verify`, the other floor: checking N certificates' signatures against that CA on
//! every core (what `check` must do for each certificate of `signed/`).
//!
//! Prints one JSON object: signatures, seconds, threads, signatures per second.

use std::time::Instant;

use clusterca_pki::{CertRequest, CertificateAuthority, LeafSpec, PrivateKey, Ttl};

fn main() {
    let all: Vec<String> = std::env::args().skip(1).collect();
    let verify = all.iter().any(|a| a == "--verify");
    let mut args = all.into_iter().filter(|a| a != "--verify");
    let dir = std::path::PathBuf::from(
        args.next()
            .expect("usage: sign_floor CA-DIR [N] [--verify]"),
    );
    let n: u64 = args.next().map_or(400, |v| v.parse().expect("N"));
    let key = PrivateKey::from_bytes(&std::fs::read(dir.join("ca_key.pem")).expect("ca_key.pem"))
        .expect("CA key");
    let ca = CertificateAuthority::load(
        &std::fs::read(dir.join("ca_crt.pem")).expect("ca_crt.pem"),
        key,
    )
    .expect("CA");
    // One P-256 CSR, as the benchmark's agents send.
    let agent = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "floor.example.net");
    let pem = params
        .serialize_request(&agent)
        .expect("CSR")
        .pem()
        .expect("PEM");
    let req = CertRequest::parse(pem.as_bytes()).expect("CSR parses");
    let spec = LeafSpec::new(
        "floor.example.net".parse().expect("name"),
        [],
        Ttl::LEAF_DEFAULT,
    );
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let now = time::OffsetDateTime::now_utc();
    let leaf = ca.sign_request(&spec, &req, 2, now).expect("sign");
    let spki = ca.spki_der();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (ca, req, spec, leaf, spki) = (&ca, &req, &spec, &leaf, &spki);
            scope.spawn(move || {
                for i in (t..n).step_by(threads as usize) {
                    if verify {
                        let ok = clusterca_pki::inspect::signed_by(&leaf.der, spki);
                        assert!(ok.expect("parses"), "the CA signed it");
                    } else {
                        ca.sign_request(spec, req, 2 + i, now).expect("sign");
                    }
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"signatures\":{n},\"seconds\":{secs:.3},\"threads\":{threads},\"per_second\":{:.1}}}",
        n as f64 / secs
    );
}
