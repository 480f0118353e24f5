//! The cost of the pieces of one issuance, in-process: key generation, signing a leaf with
//! an ECDSA P-256 CA and with Puppet's RSA-4096 CA (the committed `puppetserver ca setup`
//! fixture), renewing one (its TBSCertificate re-signed, same key), and inspecting the result
//! (what `list` and `check` do per file).

use std::hint::black_box;

use clusterca_pki::{
    inspect, CaSpec, CertificateAuthority, KeyType, LeafSpec, PrivateKey, Renewal, Ttl,
};
use criterion::{criterion_group, criterion_main, Criterion};
use time::OffsetDateTime;

fn bench(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let spec = CaSpec {
        common_name: "Puppet CA: bench".into(),
        ttl: Ttl::CA_DEFAULT,
    };
    let ca =
        CertificateAuthority::create(&spec, PrivateKey::generate(KeyType::EcP256).unwrap(), now)
            .unwrap();
    let leaf = LeafSpec::new(
        "proxy01.example.net".parse().unwrap(),
        ["smartproxy.example.net".parse().unwrap()],
        Ttl::LEAF_DEFAULT,
    );
    let key = PrivateKey::generate(KeyType::EcP256).unwrap();

    c.bench_function("keygen ec-p256", |b| {
        b.iter(|| PrivateKey::generate(black_box(KeyType::EcP256)).unwrap())
    });
    c.bench_function("sign leaf (ec-p256 CA)", |b| {
        b.iter(|| ca.issue(black_box(&leaf), &key, 2, now).unwrap())
    });
    let puppet_ca = CertificateAuthority::load(
        include_bytes!("../../../fixtures/puppetserver/ca/ca_crt.pem"),
        PrivateKey::from_bytes(include_bytes!(
            "../../../fixtures/puppetserver/ca/ca_key.pem"
        ))
        .unwrap(),
    )
    .unwrap();
    c.bench_function("sign leaf (Puppet's rsa-4096 CA)", |b| {
        b.iter(|| puppet_ca.issue(black_box(&leaf), &key, 2, now).unwrap())
    });
    let cert = ca.issue(&leaf, &key, 2, now).unwrap();
    let renewal = Renewal {
        serial: 3,
        ttl: Ttl::LEAF_DEFAULT,
        now,
        new_key: None,
    };
    c.bench_function("renew leaf, same key (ec-p256 CA)", |b| {
        b.iter(|| {
            ca.renew(&leaf.name, black_box(&cert.der), &renewal)
                .unwrap()
        })
    });
    c.bench_function("inspect leaf", |b| {
        b.iter(|| inspect::certificate_info(black_box(&cert.der), now).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
