//! The few DER encodings clusterca needs to write by hand: wrapping PKCS#1 RSA and SEC1 EC
//! private keys into PKCS#8 (RFC 5208), the one private-key form ring loads.

/// DER header (tag + definite length) followed by `content`.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// One DER element at the start of `der`: (tag, header length, whole length); `None` when
/// it is cut short or its length is not one DER allows here (at most 4 length bytes).
fn element(der: &[u8]) -> Option<(u8, usize, usize)> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (header, len) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let n = usize::from(first & 0x7f);
        let digits = rest.get(..n).filter(|d| n <= 4 && d.first() != Some(&0))?;
        if digits.is_empty() {
            return None;
        }
        let len = digits
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        // DER: the long form only where the short one cannot say it.
        if len < 0x80 {
            return None;
        }
        (2 + n, len)
    };
    let total = header.checked_add(len)?;
    (total <= der.len()).then_some((tag, header, total))
}

/// The elements of a concatenation of DER elements, each whole (header included).
pub(crate) fn elements(mut der: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !der.is_empty() {
        let (_, _, total) = element(der)?;
        // `element` found total <= der.len(): the split is in range.
        let (one, rest) = der.split_at(total);
        out.push(one);
        der = rest;
    }
    Some(out)
}

/// The contents of `one`, a whole element with tag `tag`.
pub(crate) fn contents(one: &[u8], tag: u8) -> Option<&[u8]> {
    let (t, header, total) = element(one)?;
    one.get(header..).filter(|_| t == tag && total == one.len())
}

/// The SubjectPublicKeyInfo of an RSA private key (PKCS#1 `RSAPrivateKey`, or PKCS#8 holding
/// one), read from its structure alone: for keys the crypto library refuses to load (under
/// 2048 bits), so that `audit` can name them weak and match them to their certificates.
pub(crate) fn rsa_spki_of_private(der: &[u8], pkcs8: bool) -> Option<Vec<u8>> {
    let pkcs1 = if pkcs8 {
        let parts = elements(contents(der, 0x30)?)?;
        let alg = elements(contents(parts.get(1)?, 0x30)?)?;
        if *alg.first()? != OID_RSA_ENCRYPTION {
            return None;
        }
        contents(parts.get(2)?, 0x04)?
    } else {
        der
    };
    let fields = elements(contents(pkcs1, 0x30)?)?;
    let (modulus, exponent) = (fields.get(1)?, fields.get(2)?);
    // Positive integers in their minimal encoding, or this is no RSA key.
    for int in [modulus, exponent] {
        match contents(int, 0x02)? {
            [] => return None,
            [b, ..] if b & 0x80 != 0 => return None,
            [0, b, ..] if b & 0x80 == 0 => return None,
            _ => {}
        }
    }
    let public = tlv(0x30, &[*modulus, *exponent].concat());
    let mut bits = vec![0];
    bits.extend(public);
    let alg = tlv(0x30, &[OID_RSA_ENCRYPTION, &[0x05, 0x00][..]].concat());
    Some(tlv(0x30, &[alg, tlv(0x03, &bits)].concat()))
}

/// The SubjectPublicKeyInfo of a P-256 or P-384 private key (SEC1 `ECPrivateKey`, or PKCS#8
/// holding one) from the public key the key file stores beside the private scalar (RFC 5915's
/// `publicKey`, which OpenSSL, AWS-LC and rcgen write): no scalar multiplication. `None` when
/// the file holds no public key, names no curve or two different ones, or stores it
/// compressed: then the caller derives it.
pub(crate) fn ec_spki_of_private(der: &[u8], pkcs8: bool) -> Option<Vec<u8>> {
    let (outer_curve, sec1) = if pkcs8 {
        let parts = elements(contents(der, 0x30)?)?;
        let alg = elements(contents(parts.get(1)?, 0x30)?)?;
        if *alg.first()? != OID_EC_PUBLIC_KEY {
            return None;
        }
        (Some(*alg.get(1)?), contents(parts.get(2)?, 0x04)?)
    } else {
        (None, der)
    };
    let fields = elements(contents(sec1, 0x30)?)?;
    if *fields.first()? != [0x02, 0x01, 0x01] {
        return None;
    }
    let (mut inner_curve, mut public) = (None, None);
    for f in fields.get(2..)? {
        match f.first()? {
            0xA0 => inner_curve = Some(contents(f, 0xA0)?),
            0xA1 => public = Some(contents(f, 0xA1)?),
            _ => return None,
        }
    }
    let curve = match (outer_curve, inner_curve) {
        (Some(a), Some(b)) if a != b => return None,
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => return None,
    };
    let point_len = match curve {
        c if c == OID_P256 => 65,
        c if c == OID_P384 => 97,
        _ => return None,
    };
    let bits = public?;
    match contents(bits, 0x03)? {
        [0, 0x04, point @ ..] if point.len() + 1 == point_len => {}
        _ => return None,
    }
    let alg = tlv(0x30, &[OID_EC_PUBLIC_KEY, curve].concat());
    Some(tlv(0x30, &[alg.as_slice(), bits].concat()))
}

/// `rsaEncryption` (1.2.840.113549.1.1.1), DER-encoded OBJECT IDENTIFIER.
pub(crate) const OID_RSA_ENCRYPTION: &[u8] = &[
    0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01,
];
/// `id-ecPublicKey` (1.2.840.10045.2.1).
pub(crate) const OID_EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
/// `prime256v1` (1.2.840.10045.3.1.7).
pub(crate) const OID_P256: &[u8] = &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// `secp384r1` (1.3.132.0.34).
pub(crate) const OID_P384: &[u8] = &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22];

/// PKCS#8 `PrivateKeyInfo` (version 0) around a key of the algorithm `alg_params`
/// (the AlgorithmIdentifier's contents: OID and parameters).
pub(crate) fn pkcs8_wrap(alg_params: &[u8], private_key: &[u8]) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend(tlv(0x30, alg_params));
    body.extend(tlv(0x04, private_key));
    tlv(0x30, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_der_lengths_and_positive_rsa_integers_are_read() {
        // A length in the long form that the short form could say, or with a leading zero.
        assert!(elements(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5]).is_none());
        assert!(elements(&[0x04, 0x82, 0x00, 0x80]).is_none());
        assert_eq!(elements(&[0x04, 0x01, 7]).unwrap().len(), 1);
        // PKCS#1 with a negative or empty modulus is no RSA key.
        let key = |modulus: &[u8]| {
            let body = [
                &[0x02, 0x01, 0x00][..],
                &tlv(0x02, modulus),
                &[0x02, 0x03, 0x01, 0x00, 0x01],
            ]
            .concat();
            rsa_spki_of_private(&tlv(0x30, &body), false)
        };
        assert!(key(&[0xFF; 128]).is_none());
        assert!(key(&[]).is_none());
        assert!(key(&[0x00, 0x01]).is_none());
        assert!(key(&[0x00, 0xC1, 0x02]).is_some());
    }

    /// The private key of `pem` (one block), DER.
    fn block(pem: &str) -> Vec<u8> {
        crate::inspect::pem_sections(pem.as_bytes())
            .unwrap()
            .remove(0)
            .1
    }

    #[test]
    fn the_stored_ec_public_key_is_the_derived_one_and_absent_ones_are_derived() {
        use std::process::Command;
        for (kind, curve) in [
            (crate::KeyType::EcP256, "prime256v1"),
            (crate::KeyType::EcP384, "secp384r1"),
        ] {
            // Our own PKCS#8 (AWS-LC writes the public key inside).
            let key = crate::PrivateKey::generate(kind).unwrap();
            let der = block(&key.to_pem());
            assert_eq!(ec_spki_of_private(&der, true).unwrap(), key.spki_der());
            // OpenSSL's SEC1 and PKCS#8, with and without the public key.
            let tmp = tempfile::tempdir().unwrap();
            let sh = |script: &str| {
                let out = Command::new("sh")
                    .args(["-ec", script])
                    .current_dir(tmp.path())
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            sh(&format!(
                "openssl ecparam -name {curve} -genkey -noout -out sec1.pem
                 openssl ec -in sec1.pem -no_public -out bare.pem 2>/dev/null
                 openssl pkcs8 -topk8 -nocrypt -in sec1.pem -out p8.pem
                 openssl ec -in sec1.pem -pubout -out pub.pem 2>/dev/null"
            ));
            let read = |f: &str| std::fs::read_to_string(tmp.path().join(f)).unwrap();
            let spki = block(&read("pub.pem"));
            assert_eq!(
                ec_spki_of_private(&block(&read("sec1.pem")), false).unwrap(),
                spki
            );
            assert_eq!(
                ec_spki_of_private(&block(&read("p8.pem")), true).unwrap(),
                spki
            );
            assert!(ec_spki_of_private(&block(&read("bare.pem")), false).is_none());
            // The wrong form, or no EC key at all: none (the caller derives).
            assert!(ec_spki_of_private(&block(&read("sec1.pem")), true).is_none());
            assert!(ec_spki_of_private(&[0x30, 0x00], false).is_none());
        }
    }

    #[test]
    fn long_lengths_use_the_minimal_form() {
        assert_eq!(&tlv(0x04, &[0; 5])[..2], &[0x04, 5]);
        assert_eq!(&tlv(0x04, &[0; 200])[..3], &[0x04, 0x81, 200]);
        assert_eq!(&tlv(0x04, &[0; 300])[..4], &[0x04, 0x82, 0x01, 0x2C]);
    }
}
