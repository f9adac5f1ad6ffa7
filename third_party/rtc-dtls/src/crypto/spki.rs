//! The public key of an X.509 certificate, read with a minimal DER walk (Dialtone patch 3,
//! PATCHES.md). The handshake needs one thing from the peer's certificate: the key that
//! checks its ServerKeyExchange or CertificateVerify signature. WebRTC authenticates the
//! certificate by the fingerprint in SDP (a hash of the whole DER), never by its names,
//! dates or extensions, so a full X.509 parser (x509-parser, der-parser, asn1-rs and nom:
//! about 90 KiB of the shipped library) is more than the handshake uses.
//!
//! ```text
//! Certificate  ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
//! TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber INTEGER, signature,
//!                               issuer, validity, subject,
//!                               subjectPublicKeyInfo SEQUENCE { algorithm, BIT STRING }, ... }
//! ```

use shared::error::{Error, Result};

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const EXPLICIT_VERSION: u8 = 0xA0;

/// One DER element: its tag, its contents, and what follows it.
struct Element<'a> {
    tag: u8,
    contents: &'a [u8],
    rest: &'a [u8],
}

fn malformed(what: &str) -> Error {
    Error::Other(format!("malformed certificate: {what}"))
}

/// Reads one element with a single-byte tag and a definite length (DER allows no other).
fn element(input: &[u8]) -> Result<Element<'_>> {
    let (&tag, after_tag) = input.split_first().ok_or_else(|| malformed("truncated"))?;
    if tag & 0x1F == 0x1F {
        return Err(malformed("multi-byte tag"));
    }
    let (&first, mut after_length) = after_tag
        .split_first()
        .ok_or_else(|| malformed("truncated length"))?;
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 || after_length.len() < count {
            return Err(malformed("bad length"));
        }
        let (bytes, rest) = after_length.split_at(count);
        after_length = rest;
        let length = bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
        if length < 0x80 || bytes[0] == 0 {
            return Err(malformed("length not in its shortest form"));
        }
        length
    };
    if after_length.len() < length {
        return Err(malformed("truncated contents"));
    }
    let (contents, rest) = after_length.split_at(length);
    Ok(Element {
        tag,
        contents,
        rest,
    })
}

fn expect<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<Element<'a>> {
    let element = element(input)?;
    if element.tag != tag {
        return Err(malformed(what));
    }
    Ok(element)
}

/// The subjectPublicKey bits of a DER certificate (for EC keys the uncompressed point, for
/// Ed25519 the raw 32 bytes, for RSA the PKCS#1 RSAPublicKey), as x509-parser's
/// `tbs_certificate.subject_pki.subject_public_key.data` gave them.
pub fn certificate_public_key(der: &[u8]) -> Result<&[u8]> {
    let certificate = expect(der, SEQUENCE, "not a SEQUENCE")?;
    if !certificate.rest.is_empty() {
        return Err(malformed("trailing bytes"));
    }
    let tbs = expect(certificate.contents, SEQUENCE, "no tbsCertificate")?;
    let mut fields = tbs.contents;
    if fields.first() == Some(&EXPLICIT_VERSION) {
        fields = element(fields)?.rest;
    }
    fields = expect(fields, INTEGER, "no serial number")?.rest;
    for what in [
        "no signature algorithm",
        "no issuer",
        "no validity",
        "no subject",
    ] {
        fields = expect(fields, SEQUENCE, what)?.rest;
    }
    let spki = expect(fields, SEQUENCE, "no subjectPublicKeyInfo")?;
    let algorithm = expect(spki.contents, SEQUENCE, "no key algorithm")?;
    let key = expect(algorithm.rest, BIT_STRING, "no subjectPublicKey")?;
    match key.contents.split_first() {
        Some((0, bits)) => Ok(bits),
        _ => Err(malformed("subjectPublicKey not whole bytes")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match contents.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(contents);
        out
    }

    #[test]
    fn reads_the_key_of_a_generated_certificate() {
        // rcgen's self-signed certificate, as the DTLS config generates it.
        let certified = rcgen::generate_simple_self_signed(vec!["webrtc".to_owned()]).unwrap();
        let der = certified.cert.der().to_vec();
        let key = certificate_public_key(&der).unwrap();
        let expected = certified.signing_key.public_key_raw();
        assert_eq!(key, expected);
        assert_eq!(key.len(), 65, "an uncompressed P-256 point");
        assert_eq!(key[0], 0x04);
    }

    #[test]
    fn reads_p384_and_ed25519_keys() {
        for (alg, len) in [
            (&rcgen::PKCS_ECDSA_P384_SHA384, 97),
            (&rcgen::PKCS_ED25519, 32),
        ] {
            let key_pair = rcgen::KeyPair::generate_for(alg).unwrap();
            let cert = rcgen::CertificateParams::new(vec!["webrtc".to_owned()])
                .unwrap()
                .self_signed(&key_pair)
                .unwrap();
            let key = certificate_public_key(cert.der()).unwrap();
            assert_eq!(key, key_pair.public_key_raw());
            assert_eq!(key.len(), len);
        }
    }

    #[test]
    fn reads_a_version_1_certificate_without_the_version_field() {
        let algorithm = tlv(SEQUENCE, &tlv(0x06, &[0x2A, 0x86, 0x48]));
        let name = tlv(SEQUENCE, &[]);
        let key = tlv(BIT_STRING, &[0, 4, 1, 2, 3]);
        let spki = tlv(SEQUENCE, &[algorithm.clone(), key].concat());
        let tbs = tlv(
            SEQUENCE,
            &[
                tlv(INTEGER, &[7]),
                algorithm.clone(),
                name.clone(),
                tlv(SEQUENCE, &[]),
                name,
                spki,
            ]
            .concat(),
        );
        let der = tlv(
            SEQUENCE,
            &[tbs, algorithm, tlv(BIT_STRING, &[0, 9])].concat(),
        );
        assert_eq!(certificate_public_key(&der).unwrap(), &[4, 1, 2, 3]);
    }

    #[test]
    fn refuses_truncated_and_malformed_input_without_panicking() {
        let certified = rcgen::generate_simple_self_signed(vec![]).unwrap();
        let der = certified.cert.der().to_vec();
        for cut in 0..der.len() {
            assert!(certificate_public_key(&der[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(certificate_public_key(&trailing).is_err());
        for index in 0..der.len().min(200) {
            let mut flipped = der.clone();
            flipped[index] ^= 0xFF;
            let _ = certificate_public_key(&flipped);
        }
        // A length in long form that would fit the short form is not DER.
        assert!(certificate_public_key(&[0x30, 0x81, 0x01, 0x00]).is_err());
        // Indefinite length (BER only).
        assert!(certificate_public_key(&[0x30, 0x80, 0x00, 0x00]).is_err());
        // A length beyond the input.
        assert!(certificate_public_key(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
    }
}
