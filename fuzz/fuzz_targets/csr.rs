//! CSR parsing and the signing policy (the signature check is skipped under the fuzzer, so
//! mutated requests reach the policy).
#![no_main]
use clusterca_pki::{AltNamePolicy, CertName, CertRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(req) = CertRequest::parse(data) else {
        return;
    };
    let policy = AltNamePolicy::new([
        "*.example.net".to_owned(),
        "IP:10.0.0.0/8".to_owned(),
        "puppet".to_owned(),
    ]);
    let fixed: CertName = "agent.example.net".parse().expect("a valid certname");
    let _ = policy.check(&fixed, &req);
    if let Some(name) = req
        .common_name
        .as_deref()
        .and_then(|cn| cn.parse::<CertName>().ok())
    {
        let _ = name.check_dns();
        let _ = req.check_name(&name);
        let _ = policy.check(&name, &req);
    }
});
