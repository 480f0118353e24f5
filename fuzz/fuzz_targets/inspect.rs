//! PEM/DER recognition and what `show` reads of certificates, requests, keys and CRLs.
#![no_main]
use clusterca_pki::inspect;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = time::macros::datetime!(2026-11-30 12:00 UTC);
    let _ = inspect::looks_like_pem(data);
    // `show FILE`: every object in the file, recognised and described.
    let _ = inspect::parse_with_der(data, now);
    // The fast decoder of one plain certificate block reads what the full reader reads.
    if inspect::looks_like_pem(data) {
        if let Ok(fast) = inspect::certificates(data) {
            assert_eq!(
                Ok(fast),
                inspect::certificates_by_full_reader(data).map_err(|_| ())
            );
        }
    }
    if let Ok(certs) = inspect::certificates(data) {
        for der in certs {
            let info = inspect::certificate_info(&der, now);
            let _ = inspect::client_identity(&der);
            let _ = inspect::raw_names(&der);
            if let Ok(info) = info {
                let _ = inspect::signed_by(&der, &info.spki_der);
            }
        }
    }
    if let Ok(crls) = inspect::crls(data) {
        for der in crls {
            let _ = inspect::crl_info(&der);
        }
    }
    let _ = inspect::spki_info(data);
    let _ = inspect::serial_and_spki(data);
});
