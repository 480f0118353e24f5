//! Certnames and alt names: parsing, the DNS check, and that what parses prints back the same.
#![no_main]
use clusterca_pki::{AltName, CertName};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(name) = text.parse::<CertName>() {
        assert_eq!(name.as_str(), text);
        if name.check_dns().is_ok() {
            // What the DNS check passes is a valid alt name too.
            assert!(format!("DNS:{text}").parse::<AltName>().is_ok(), "{text:?}");
        }
    }
    if let Ok(alt) = text.parse::<AltName>() {
        let shown = alt.to_string();
        assert_eq!(
            shown.parse::<AltName>().ok(),
            Some(alt),
            "{text:?} -> {shown:?}"
        );
    }
});
