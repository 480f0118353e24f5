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

    #[test]
    fn long_lengths_use_the_minimal_form() {
        assert_eq!(&tlv(0x04, &[0; 5])[..2], &[0x04, 5]);
        assert_eq!(&tlv(0x04, &[0; 200])[..3], &[0x04, 0x81, 200]);
        assert_eq!(&tlv(0x04, &[0; 300])[..4], &[0x04, 0x82, 0x01, 0x2C]);
    }
}
