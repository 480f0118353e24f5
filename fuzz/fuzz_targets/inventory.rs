//! inventory.txt lines and the `serial` file: parse, and what parses writes back the same.
#![no_main]
use clusterca_store::{serial, InventoryLine};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.split('\n') {
        if let Ok(parsed) = InventoryLine::parse(line) {
            let written = parsed.to_line();
            let again = InventoryLine::parse(written.trim_end_matches('\n'))
                .expect("a line clusterca writes parses");
            assert_eq!(again.serial, parsed.serial);
            assert_eq!(again.subject, parsed.subject);
        }
    }
    if let Ok(n) = serial::parse(&text, std::path::Path::new("serial")) {
        assert_eq!(
            serial::parse(&serial::format(n), std::path::Path::new("serial")).ok(),
            Some(n)
        );
    }
});
