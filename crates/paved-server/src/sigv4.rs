//! AWS Signature Version 4, checked on the `/ecs` endpoint.
//!
//! Clients sign as AWS clients do, with access key id [`ACCESS_KEY_ID`] and the admin token as
//! the secret access key. The canonical request follows AWS's SigV4 documentation: method,
//! path, canonical query, the headers `SignedHeaders` names (lowercase, trimmed, sorted), and
//! the SHA-256 of the body, which is always hashed here (never taken from a header). The
//! request time (`X-Amz-Date`) must be within 15 minutes of the server's, as AWS requires.
//!
//! HMAC-SHA256 is written out over `sha2` (RFC 2104, a dozen lines): `hmac` 0.13, the version
//! already in the lock file, needs `digest` 0.11 while `sha2` 0.10 implements 0.10.

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

/// The access key id Paved issues: the secret access key is the admin token.
pub const ACCESS_KEY_ID: &str = "paved";

/// How far a request's time may be from the server's (AWS allows 15 minutes).
const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// Why a signature is refused, with AWS's error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: &'static str,
    pub message: String,
}

fn refuse(kind: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        kind,
        message: message.into(),
    }
}

/// The parts of a request a signature covers.
#[derive(Debug)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Checks the request's `Authorization` header against `secret` (`None`: this process does
/// not know the secret, so nothing can be verified). `now` is in epoch seconds.
pub fn verify(request: &SignedRequest<'_>, secret: Option<&str>, now: i64) -> Result<(), Refusal> {
    let Some(header) = request.headers.get("authorization") else {
        return Err(refuse(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let header = header.to_str().map_err(|_| {
        refuse(
            "IncompleteSignatureException",
            "The Authorization header is not text.",
        )
    })?;
    let Some(fields) = header.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Err(refuse(
            "IncompleteSignatureException",
            "Only AWS4-HMAC-SHA256 signatures are accepted.",
        ));
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for field in fields.split(',') {
        match field.trim().split_once('=') {
            Some(("Credential", value)) => credential = Some(value),
            Some(("SignedHeaders", value)) => signed_headers = Some(value),
            Some(("Signature", value)) => signature = Some(value),
            _ => {}
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(refuse(
            "IncompleteSignatureException",
            "The Authorization header needs Credential, SignedHeaders and Signature.",
        ));
    };
    // Credential=AKID/DATE/REGION/SERVICE/aws4_request
    let scope_parts: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, "aws4_request"] = scope_parts[..] else {
        return Err(refuse(
            "IncompleteSignatureException",
            format!(
                "The credential `{credential}` is not ACCESS_KEY/DATE/REGION/SERVICE/aws4_request."
            ),
        ));
    };
    if access_key != ACCESS_KEY_ID {
        return Err(refuse(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    }
    let Some(secret) = secret else {
        return Err(refuse(
            "UnrecognizedClientException",
            "The security token included in the request is invalid: this server was started without the admin token, so it cannot check signatures.",
        ));
    };
    let amz_date = request
        .headers
        .get("x-amz-date")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| {
            refuse(
                "IncompleteSignatureException",
                "The X-Amz-Date header is missing.",
            )
        })?;
    let signed_at = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", amz_date)
        .ok()
        .and_then(|time| time.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|time| time.timestamp().as_second())
        .ok_or_else(|| {
            refuse(
                "IncompleteSignatureException",
                format!("X-Amz-Date `{amz_date}` is not YYYYMMDDTHHMMSSZ."),
            )
        })?;
    if (now - signed_at).abs() > MAX_SKEW_SECONDS {
        return Err(refuse(
            "InvalidSignatureException",
            format!(
                "Signature expired: {amz_date} is more than 15 minutes from the server's time."
            ),
        ));
    }
    if !amz_date.starts_with(date) {
        return Err(refuse(
            "InvalidSignatureException",
            "The credential's date does not match X-Amz-Date.",
        ));
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"host") {
        return Err(refuse(
            "InvalidSignatureException",
            "The host header must be signed.",
        ));
    }
    let canonical = canonical_request(request, &names);
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(secret, date, region, service);
    let expected = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
    if !constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        return Err(refuse(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    Ok(())
}

fn canonical_request(request: &SignedRequest<'_>, signed_headers: &[&str]) -> String {
    let mut query: Vec<&str> = request
        .query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .collect();
    query.sort_unstable();
    let query: Vec<String> = query
        .into_iter()
        .map(|pair| match pair.split_once('=') {
            Some(_) => pair.to_owned(),
            None => format!("{pair}="),
        })
        .collect();
    let mut headers = String::new();
    for name in signed_headers {
        let values: Vec<String> = request
            .headers
            .get_all(*name)
            .iter()
            .map(|value| {
                String::from_utf8_lossy(value.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    format!(
        "{}\n{}\n{}\n{headers}\n{}\n{}",
        request.method,
        if request.path.is_empty() {
            "/"
        } else {
            request.path
        },
        query.join("&"),
        signed_headers.join(";"),
        hex(&Sha256::digest(request.body))
    )
}

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let date_key = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let region_key = hmac_sha256(&date_key, region.as_bytes());
    let service_key = hmac_sha256(&region_key, service.as_bytes());
    hmac_sha256(&service_key, b"aws4_request")
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|byte| byte ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|byte| byte ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 1 and 6 (a key longer than the block).
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn signing_key_matches_aws_example() {
        // AWS's documented example: secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
        // 20120215, us-east-1, iam.
        assert_eq!(
            hex(&signing_key(
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                "20120215",
                "us-east-1",
                "iam"
            )),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }
}
