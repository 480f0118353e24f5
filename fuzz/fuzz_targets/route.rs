//! The API's router: any method and path give a route, and a certname in a route is one.
#![no_main]
use clusterca_server::{route, Route};

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (method, path) = text.split_once(' ').unwrap_or(("GET", text));
    match route(method, path) {
        Route::PutRequest(n) => {
            // A new request's name is a DNS name (it becomes the DNS alt name).
            assert!(n.check_dns().is_ok(), "{path:?}");
            assert!(path.ends_with(n.as_str()), "{path:?}");
        }
        Route::Certificate(n)
        | Route::GetRequest(n)
        | Route::GetStatus(n)
        | Route::SetStatus(n)
        | Route::DeleteStatus(n) => {
            // Any other name is one the store can build a file name from.
            assert_eq!(
                n.as_str().parse::<clusterca_pki::CertName>().ok(),
                Some(n.clone())
            );
            assert!(path.ends_with(n.as_str()), "{path:?}");
            assert!(!n.as_str().contains('/'), "{path:?}");
        }
        _ => {}
    }
});
