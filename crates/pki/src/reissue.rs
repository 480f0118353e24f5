//! Renewal: a certificate signed again with a new serial and validity, everything else
//! (subject, alt names, extensions, and the public key unless it is replaced) copied byte for
//! byte from the one it renews.
//!
//! The old certificate's `TBSCertificate` is edited in place rather than rebuilt from
//! parameters: a certificate Puppet Server signed keeps its exact subject, its Netscape comment
//! and its `pp_*` extensions, and a renewed CA certificate keeps its subject key identifier,
//! so every certificate it signed before still chains to it.

use rcgen::SigningKey;
use time::OffsetDateTime;

use crate::der::tlv;
use crate::inspect;
use crate::{CertName, CertificateAuthority, Error, IssuedCert, PrivateKey, Ttl};

/// What renewing a certificate changes; everything else is copied from it.
#[derive(Debug, Clone, Copy)]
pub struct Renewal<'a> {
    /// The new serial.
    pub serial: u64,
    /// The new lifetime, from `now`.
    pub ttl: Ttl,
    /// The time of signing (notBefore is a day earlier, as Puppet's).
    pub now: OffsetDateTime,
    /// A new key for the certificate (`--rekey`); `None` keeps its public key.
    pub new_key: Option<&'a PrivateKey>,
}

const OID_SKI: &[u8] = &[0x06, 0x03, 0x55, 0x1D, 0x0E];

fn not_renewable(reason: impl Into<String>) -> Error {
    Error::NotRenewable {
        reason: reason.into(),
    }
}

fn malformed() -> Error {
    not_renewable("the certificate's DER is not as X.509 lays it out")
}

/// The elements of a concatenation of DER elements, each whole (header included).
fn elements(der: &[u8]) -> Result<Vec<&[u8]>, Error> {
    crate::der::elements(der).ok_or_else(malformed)
}

/// The contents of one whole element with tag `tag`.
fn contents(one: &[u8], tag: u8) -> Result<&[u8], Error> {
    crate::der::contents(one, tag).ok_or_else(malformed)
}

/// A positive INTEGER in its minimal encoding.
fn integer(v: u64) -> Vec<u8> {
    let mut body: Vec<u8> = v
        .to_be_bytes()
        .into_iter()
        .skip_while(|&b| b == 0)
        .collect();
    // Zero is one 0 byte; a leading bit set needs a 0 before it to stay positive.
    if body.first().is_none_or(|b| b & 0x80 != 0) {
        body.insert(0, 0);
    }
    tlv(0x02, &body)
}

/// UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280, 4.1.2.5).
fn time(t: OffsetDateTime) -> Vec<u8> {
    let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
    let (h, mi, s) = (t.hour(), t.minute(), t.second());
    if (1950..2050).contains(&y) {
        let text = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100);
        tlv(0x17, text.as_bytes())
    } else {
        let text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z");
        tlv(0x18, text.as_bytes())
    }
}

/// The subjectPublicKey bits of an SPKI, for a key identifier (RFC 5280, 4.2.1.2, method 1).
fn key_bits(spki: &[u8]) -> Result<Vec<u8>, Error> {
    let parts = elements(contents(spki, 0x30)?)?;
    let bits = parts
        .get(1)
        .ok_or_else(|| not_renewable("the new key's SubjectPublicKeyInfo is malformed"))?;
    Ok(contents(bits, 0x03)?.get(1..).unwrap_or_default().to_vec())
}

/// The extensions with the subject key identifier replaced by one for `spki`.
fn with_new_key_id(extensions: &[u8], spki: &[u8]) -> Result<Vec<u8>, Error> {
    let list = contents(contents(extensions, 0xA3)?, 0x30)?;
    let id = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        &key_bits(spki)?,
    );
    let mut out = Vec::new();
    for ext in elements(list)? {
        let parts = elements(contents(ext, 0x30)?)?;
        if parts.first() == Some(&OID_SKI) {
            let value = tlv(0x04, &tlv(0x04, id.as_ref()));
            out.extend(tlv(0x30, &[OID_SKI, &value].concat()));
        } else {
            out.extend_from_slice(ext);
        }
    }
    Ok(tlv(0xA3, &tlv(0x30, &out)))
}

/// The parts of a certificate: its `TBSCertificate` elements.
struct Parsed<'a> {
    /// The parts a renewal keeps (version 3 and a positive serial checked; serial,
    /// signature algorithm and validity are replaced).
    issuer: &'a [u8],
    subject: &'a [u8],
    spki: &'a [u8],
    /// The optional parts after them: unique IDs, extensions.
    rest: Vec<&'a [u8]>,
}

impl<'a> Parsed<'a> {
    fn new(der: &'a [u8]) -> Result<Self, Error> {
        let top = elements(contents(der, 0x30)?)?;
        let tbs = top
            .first()
            .ok_or_else(|| not_renewable("no TBSCertificate"))?;
        let tbs = elements(contents(tbs, 0x30)?)?;
        // version [0], serial, signature, issuer, validity, subject, SPKI, then optional parts.
        let [version, serial, _signature, issuer, _validity, subject, spki, rest @ ..] =
            tbs.as_slice()
        else {
            return Err(not_renewable("the TBSCertificate is incomplete"));
        };
        if *version != [0xA0, 0x03, 0x02, 0x01, 0x02] {
            return Err(not_renewable("only version 3 certificates are renewed"));
        }
        // A negative serial is not one a CA issues (RFC 5280, 4.1.2.2).
        if contents(serial, 0x02)?
            .first()
            .is_none_or(|b| b & 0x80 != 0)
        {
            return Err(not_renewable("its serial number is not a positive integer"));
        }
        Ok(Parsed {
            issuer,
            subject,
            spki,
            rest: rest.to_vec(),
        })
    }

    fn issuer(&self) -> &[u8] {
        self.issuer
    }

    fn subject(&self) -> &[u8] {
        self.subject
    }
}

impl CertificateAuthority {
    /// The AlgorithmIdentifier this CA's key signs with, as rcgen writes it: taken from a
    /// throwaway certificate (one signature; nothing is recorded).
    fn signature_algorithm(&self, now: OffsetDateTime) -> Result<Vec<u8>, Error> {
        if let Some(alg) = self.signature_algorithm.get() {
            return Ok(alg.clone());
        }
        let name: CertName = "clusterca-self-test.invalid".parse()?;
        let key = PrivateKey::generate(crate::KeyType::EcP256)?;
        let probe = self.issue(
            &crate::LeafSpec::new(name, [], Ttl::from_secs(3_600)),
            &key,
            1,
            now,
        )?;
        let top = elements(contents(&probe.der, 0x30)?)?;
        let alg = top
            .get(1)
            .map(|a| a.to_vec())
            .ok_or_else(|| not_renewable("no signature algorithm"))?;
        Ok(self.signature_algorithm.get_or_init(|| alg).clone())
    }

    /// Signs `tbs` (the elements of a TBSCertificate) into a certificate.
    fn sign_tbs(&self, tbs: &[Vec<u8>], alg: &[u8]) -> Result<Vec<u8>, Error> {
        let tbs = tlv(0x30, &tbs.concat());
        let sig = self.issuer.key().sign(&tbs).map_err(Error::signing)?;
        let mut bits = vec![0];
        bits.extend(sig);
        Ok(tlv(0x30, &[tbs, alg.to_vec(), tlv(0x03, &bits)].concat()))
    }

    /// The TBSCertificate elements of `old` with a new serial, signature algorithm and
    /// validity (and key).
    fn renewed_tbs(
        &self,
        old: &Parsed<'_>,
        r: &Renewal<'_>,
        alg: &[u8],
    ) -> Result<(Vec<Vec<u8>>, OffsetDateTime, OffsetDateTime), Error> {
        let now = r.now.replace_nanosecond(0).unwrap_or(r.now);
        let not_before = now - crate::ca::BACKDATE;
        let not_after = crate::valid_until(now, r.ttl)?;
        let tbs = self.tbs_with(old, r.serial, (not_before, not_after), r.new_key, alg)?;
        Ok((tbs, not_before, not_after))
    }

    /// The TBSCertificate elements of `old` with `serial`, `validity`, the signature algorithm
    /// `alg` and (when given) `new_key`'s public key and key identifier.
    fn tbs_with(
        &self,
        old: &Parsed<'_>,
        serial: u64,
        validity: (OffsetDateTime, OffsetDateTime),
        new_key: Option<&PrivateKey>,
        alg: &[u8],
    ) -> Result<Vec<Vec<u8>>, Error> {
        let spki = new_key.map(PrivateKey::spki_der);
        let mut tbs = vec![
            vec![0xA0, 0x03, 0x02, 0x01, 0x02],
            integer(serial),
            alg.to_vec(),
            old.issuer.to_vec(),
            tlv(0x30, &[time(validity.0), time(validity.1)].concat()),
            old.subject.to_vec(),
            spki.clone().unwrap_or_else(|| old.spki.to_vec()),
        ];
        for part in &old.rest {
            tbs.push(match &spki {
                // A new key gets its own key identifier.
                Some(spki) if part.first() == Some(&0xA3) => with_new_key_id(part, spki)?,
                _ => part.to_vec(),
            });
        }
        Ok(tbs)
    }

    /// Renews `old`, a certificate this CA issued for `name`: same subject, alt names and
    /// extensions, same public key unless `r.new_key` replaces it (then a new subject key
    /// identifier too); new serial and validity.
    pub fn renew(&self, name: &CertName, old: &[u8], r: &Renewal<'_>) -> Result<IssuedCert, Error> {
        let info = inspect::certificate_info(old, r.now)?;
        if info.basic_constraints.as_ref().is_some_and(|bc| bc.ca) {
            return Err(not_renewable(format!(
                "{} is a CA certificate (renew the CA with --ca)",
                crate::quote(&info.subject)
            )));
        }
        if info.subject_oneline != format!("/CN={name}") {
            return Err(not_renewable(format!(
                "its subject is {}, not CN={name}",
                crate::quote(&info.subject)
            )));
        }
        let parsed = Parsed::new(old)?;
        let (_, ca_subject) = inspect::raw_names(&self.cert_der)?;
        // Under the fuzzer (cargo-fuzz's --cfg fuzzing) mutated certificates of any issuer
        // reach the DER walker and the re-signing below.
        if !cfg!(fuzzing)
            && (parsed.issuer() != ca_subject.as_slice()
                || !inspect::signed_by(old, &self.spki_der())?)
        {
            return Err(not_renewable(format!(
                "it was issued by {}, not by this CA ({})",
                crate::quote(&info.issuer),
                crate::quote(&self.subject)
            )));
        }
        let alg = self.signature_algorithm(r.now)?;
        self.renew_parsed(name, &parsed, r, &alg, info.subject_oneline)
    }

    fn renew_parsed(
        &self,
        name: &CertName,
        parsed: &Parsed<'_>,
        r: &Renewal<'_>,
        alg: &[u8],
        subject: String,
    ) -> Result<IssuedCert, Error> {
        let (tbs, not_before, not_after) = self.renewed_tbs(parsed, r, alg)?;
        let der = self.sign_tbs(&tbs, alg)?;
        Ok(IssuedCert {
            name: name.clone(),
            serial: r.serial,
            not_before,
            not_after,
            subject,
            pem: crate::pem_encode("CERTIFICATE", &der),
            der,
        })
    }

    /// The CA certificate again, self-signed with the same key, subject, subject key
    /// identifier and extensions, with serial `serial` and a new validity (`ttl` from `now`,
    /// notBefore a day back). Certificates signed under the old one verify against the new one.
    /// A CA certificate another CA issued (Puppet's intermediate) needs that CA's key: refused.
    pub fn renew_self(&self, serial: u64, ttl: Ttl, now: OffsetDateTime) -> Result<Vec<u8>, Error> {
        let parsed = Parsed::new(&self.cert_der)?;
        if parsed.issuer() != parsed.subject()
            || !inspect::signed_by(&self.cert_der, &self.spki_der())?
        {
            let info = inspect::certificate_info(&self.cert_der, now)?;
            return Err(not_renewable(format!(
                "the CA certificate {} is issued by {}: only that CA's key can renew it",
                crate::quote(&info.subject),
                crate::quote(&info.issuer)
            )));
        }
        let alg = self.signature_algorithm(now)?;
        let r = Renewal {
            serial,
            ttl,
            now,
            new_key: None,
        };
        let (tbs, _, _) = self.renewed_tbs(&parsed, &r, &alg)?;
        self.sign_tbs(&tbs, &alg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_times_use_the_der_forms() {
        assert_eq!(integer(1), [0x02, 0x01, 0x01]);
        assert_eq!(integer(0x80), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(integer(0), [0x02, 0x01, 0x00]);
        assert_eq!(
            integer(u64::MAX),
            [0x02, 0x09, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        let t = time::macros::datetime!(2049-12-31 23:59:59 UTC);
        assert_eq!(&time(t)[2..], b"491231235959Z");
        let t = time::macros::datetime!(2050-01-01 00:00:00 UTC);
        assert_eq!(time(t)[0], 0x18);
        assert_eq!(&time(t)[2..], b"20500101000000Z");
    }

    #[test]
    fn only_positive_serials_of_version_3_certificates_are_renewed() {
        // Found by review: an explicit version 1 and a negative serial were copied.
        let ca = crate::CertificateAuthority::create(
            &crate::CaSpec {
                common_name: "t".into(),
                ttl: Ttl::from_secs(86_400),
            },
            PrivateKey::generate(crate::KeyType::EcP256).unwrap(),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        let name: CertName = "a.example.net".parse().unwrap();
        let key = PrivateKey::generate(crate::KeyType::EcP256).unwrap();
        let spec = crate::LeafSpec::new(name, [], Ttl::from_secs(3_600));
        let der = ca
            .issue(&spec, &key, 0x42, OffsetDateTime::now_utc())
            .unwrap()
            .der;
        assert!(Parsed::new(&der).is_ok());
        let patch = |from: &[u8], to: &[u8]| {
            let at = der.windows(from.len()).position(|w| w == from).unwrap();
            let mut d = der.clone();
            d[at..at + from.len()].copy_from_slice(to);
            d
        };
        let v1 = patch(
            &[0xA0, 0x03, 0x02, 0x01, 0x02],
            &[0xA0, 0x03, 0x02, 0x01, 0x00],
        );
        assert!(Parsed::new(&v1).is_err());
        let negative = patch(&[0x02, 0x01, 0x42], &[0x02, 0x01, 0xC2]);
        assert!(Parsed::new(&negative).is_err());
    }

    #[test]
    fn malformed_der_is_an_error_not_a_panic() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x05, 1],
        ] {
            assert!(Parsed::new(bad).is_err());
        }
    }
}
