//! The per-file cost of the fleet audit, in-process: describing a certificate, checking its
//! signature against the CA (the dominant cost), and the whole per-file rule set.

use std::hint::black_box;

use clusterca_pki::{inspect, CaSpec, CertificateAuthority, KeyType, LeafSpec, PrivateKey, Ttl};
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
        "node1.example.net".parse().unwrap(),
        ["puppet.example.net".parse().unwrap()],
        Ttl::LEAF_DEFAULT,
    );
    let key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let cert = ca.issue(&leaf, &key, 2, now).unwrap();
    let spki = ca.spki_der();

    c.bench_function("describe certificate", |b| {
        b.iter(|| inspect::certificate_info(black_box(&cert.der), now).unwrap())
    });
    c.bench_function("signature check (ec-p256 CA)", |b| {
        b.iter(|| inspect::signed_by(black_box(&cert.der), &spki).unwrap())
    });
    c.bench_function("parse PEM file with DER", |b| {
        b.iter(|| inspect::parse_with_der(black_box(cert.pem.as_bytes()), now).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
