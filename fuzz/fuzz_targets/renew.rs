//! Renewal's DER walker and re-encoder: any certificate that renews (the issuer check is
//! skipped under the fuzzer) must come out as a certificate that parses, carries the new
//! serial and verifies with the CA's key.
#![no_main]
use std::sync::OnceLock;

use clusterca_pki::{
    inspect, CaSpec, CertName, CertificateAuthority, KeyType, PrivateKey, Renewal, Ttl,
};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

static CA: OnceLock<CertificateAuthority> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let now = OffsetDateTime::now_utc();
    let ca = CA.get_or_init(|| {
        let spec = CaSpec {
            common_name: "Fuzz CA".into(),
            ttl: Ttl::from_secs(86_400),
        };
        let key = PrivateKey::generate(KeyType::EcP256).expect("a key");
        CertificateAuthority::create(&spec, key, now).expect("a CA")
    });
    let Ok(info) = inspect::certificate_info(data, now) else {
        return;
    };
    let Some(name) = info
        .subject_oneline
        .strip_prefix("/CN=")
        .and_then(|n| n.parse::<CertName>().ok())
    else {
        return;
    };
    let renewal = Renewal {
        serial: 7,
        ttl: Ttl::from_secs(3_600),
        now,
        new_key: None,
    };
    if let Ok(renewed) = ca.renew(&name, data, &renewal) {
        let out =
            inspect::certificate_info(&renewed.der, now).expect("a renewed certificate parses");
        assert_eq!(out.serial_decimal, "7");
        assert_eq!(out.spki_der, info.spki_der);
        assert_eq!(out.subject_oneline, info.subject_oneline);
        assert!(inspect::signed_by(&renewed.der, &ca.spki_der()).unwrap_or(false));
    }
});
