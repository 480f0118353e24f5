//! ring against aws-lc-rs, in one run, for each public-key operation clusterca does: make a
//! key, sign a TBSCertificate-sized message, verify one. The two columns of the README's
//! "Crypto provider" table.
//!
//! ring cannot generate RSA keys: both libraries sign with the same RSA keys, made by
//! aws-lc-rs and handed to ring as PKCS#8.

use std::hint::black_box;

use aws_lc_rs::encoding::AsDer;
use criterion::{criterion_group, criterion_main, Criterion};

/// About the size of a leaf certificate's TBSCertificate.
const MESSAGE: [u8; 600] = [0x5A; 600];

fn ecdsa(c: &mut Criterion, curve: &str, keygen_and_sign: bool) {
    use aws_lc_rs::signature as aws;
    use ring::signature as ring_sig;
    let (ring_alg, ring_verify, aws_alg, aws_verify) = match curve {
        "P-256" => (
            &ring_sig::ECDSA_P256_SHA256_ASN1_SIGNING,
            &ring_sig::ECDSA_P256_SHA256_ASN1,
            &aws::ECDSA_P256_SHA256_ASN1_SIGNING,
            &aws::ECDSA_P256_SHA256_ASN1,
        ),
        _ => (
            &ring_sig::ECDSA_P384_SHA384_ASN1_SIGNING,
            &ring_sig::ECDSA_P384_SHA384_ASN1,
            &aws::ECDSA_P384_SHA384_ASN1_SIGNING,
            &aws::ECDSA_P384_SHA384_ASN1,
        ),
    };
    let ring_rng = ring::rand::SystemRandom::new();
    let aws_rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = ring_sig::EcdsaKeyPair::generate_pkcs8(ring_alg, &ring_rng).unwrap();
    let ring_key = ring_sig::EcdsaKeyPair::from_pkcs8(ring_alg, pkcs8.as_ref(), &ring_rng).unwrap();
    let aws_key = aws::EcdsaKeyPair::from_pkcs8(aws_alg, pkcs8.as_ref()).unwrap();
    use ring::signature::KeyPair as _;
    let public = ring_key.public_key().as_ref().to_vec();
    let signature = ring_key.sign(&ring_rng, &MESSAGE).unwrap().as_ref().to_vec();

    let mut g = c.benchmark_group(format!("{curve} ECDSA"));
    if keygen_and_sign {
        g.bench_function("keygen/ring", |b| {
            b.iter(|| ring_sig::EcdsaKeyPair::generate_pkcs8(ring_alg, &ring_rng).unwrap())
        });
        g.bench_function("keygen/aws-lc-rs", |b| {
            b.iter(|| aws::EcdsaKeyPair::generate_pkcs8(aws_alg, &aws_rng).unwrap())
        });
        g.bench_function("sign/ring", |b| {
            b.iter(|| ring_key.sign(&ring_rng, black_box(&MESSAGE)).unwrap())
        });
        g.bench_function("sign/aws-lc-rs", |b| {
            b.iter(|| aws_key.sign(&aws_rng, black_box(&MESSAGE)).unwrap())
        });
    }
    g.bench_function("verify/ring", |b| {
        let key = ring_sig::UnparsedPublicKey::new(ring_verify, &public);
        b.iter(|| key.verify(black_box(&MESSAGE), &signature).unwrap())
    });
    g.bench_function("verify/aws-lc-rs", |b| {
        let key = aws::UnparsedPublicKey::new(aws_verify, &public);
        b.iter(|| key.verify(black_box(&MESSAGE), &signature).unwrap())
    });
    g.finish();
}

fn ed25519(c: &mut Criterion) {
    use aws_lc_rs::signature as aws;
    use ring::signature as ring_sig;
    use ring::signature::KeyPair as _;
    let ring_rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring_sig::Ed25519KeyPair::generate_pkcs8(&ring_rng).unwrap();
    let ring_key = ring_sig::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let aws_key = aws::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let public = ring_key.public_key().as_ref().to_vec();
    let signature = ring_key.sign(&MESSAGE).as_ref().to_vec();
    let mut g = c.benchmark_group("Ed25519");
    g.bench_function("sign/ring", |b| b.iter(|| ring_key.sign(black_box(&MESSAGE))));
    g.bench_function("sign/aws-lc-rs", |b| {
        b.iter(|| aws_key.sign(black_box(&MESSAGE)))
    });
    g.bench_function("verify/ring", |b| {
        let key = ring_sig::UnparsedPublicKey::new(&ring_sig::ED25519, &public);
        b.iter(|| key.verify(black_box(&MESSAGE), &signature).unwrap())
    });
    g.bench_function("verify/aws-lc-rs", |b| {
        let key = aws::UnparsedPublicKey::new(&aws::ED25519, &public);
        b.iter(|| key.verify(black_box(&MESSAGE), &signature).unwrap())
    });
    g.finish();
}

fn rsa(c: &mut Criterion, size: aws_lc_rs::rsa::KeySize, bits: u32, sign: bool) {
    use aws_lc_rs::signature as aws;
    use ring::signature as ring_sig;
    let aws_key = aws_lc_rs::rsa::KeyPair::generate(size).unwrap();
    let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&aws_key).unwrap();
    let ring_key = ring_sig::RsaKeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let ring_rng = ring::rand::SystemRandom::new();
    let aws_rng = aws_lc_rs::rand::SystemRandom::new();
    use ring::signature::KeyPair as _;
    let public = ring_key.public_key().as_ref().to_vec();
    let mut signature = vec![0; ring_key.public().modulus_len()];
    ring_key
        .sign(&ring_sig::RSA_PKCS1_SHA256, &ring_rng, &MESSAGE, &mut signature)
        .unwrap();
    let mut g = c.benchmark_group(format!("RSA-{bits}"));
    if sign {
        g.sample_size(20);
        g.bench_function("sign/ring", |b| {
            let mut out = vec![0; signature.len()];
            b.iter(|| {
                ring_key
                    .sign(&ring_sig::RSA_PKCS1_SHA256, &ring_rng, black_box(&MESSAGE), &mut out)
                    .unwrap()
            })
        });
        g.bench_function("sign/aws-lc-rs", |b| {
            let mut out = vec![0; signature.len()];
            b.iter(|| {
                aws_key
                    .sign(&aws::RSA_PKCS1_SHA256, &aws_rng, black_box(&MESSAGE), &mut out)
                    .unwrap()
            })
        });
    } else {
        g.bench_function("verify/ring", |b| {
            let key = ring_sig::UnparsedPublicKey::new(&ring_sig::RSA_PKCS1_2048_8192_SHA256, &public);
            b.iter(|| key.verify(black_box(&MESSAGE), &signature).unwrap())
        });
        g.bench_function("verify/aws-lc-rs", |b| {
            let key = aws::UnparsedPublicKey::new(&aws::RSA_PKCS1_2048_8192_SHA256, &public);
            b.iter(|| key.verify(black_box(&MESSAGE), &signature).unwrap())
        });
    }
    g.finish();
}

fn providers(c: &mut Criterion) {
    ecdsa(c, "P-256", true);
    ecdsa(c, "P-384", false);
    ed25519(c);
    rsa(c, aws_lc_rs::rsa::KeySize::Rsa4096, 4096, true);
    rsa(c, aws_lc_rs::rsa::KeySize::Rsa2048, 2048, false);
}

criterion_group!(benches, providers);
criterion_main!(benches);
