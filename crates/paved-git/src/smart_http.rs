//! Fetching over HTTPS: git's smart HTTP protocol (version 0, stateless RPC), spoken over
//! an HTTP client the caller supplies, with the pack indexed by libgit2.
//!
//! libgit2 is built without TLS here, and its pluggable transports need `unsafe` to
//! register, which the workspace forbids. The fetch side of the protocol is small: one
//! `GET info/refs?service=git-upload-pack` (the references), one
//! `POST git-upload-pack` (wants, the mirror's tips as haves, `done`), and a pack back in
//! side-band packets. Speaking it over the caller's client keeps one TLS configuration,
//! one place for credentials and one set of bounds for everything Paved reads over HTTPS.
//! Pushing is not supported: the catalog and template sync only fetch.

use std::io::Write as _;

use git2::{Oid, Repository};

/// An HTTP client for the smart protocol. Implementations decide TLS, credentials and
/// bounds; errors are messages without credentials.
pub trait SmartHttp {
    /// `GET url`, the body of a 200 answer.
    fn get(&self, url: &str) -> Result<Vec<u8>, String>;
    /// `POST url` with `body` of `content_type`, the body of a 200 answer.
    fn post(&self, url: &str, content_type: &str, body: Vec<u8>) -> Result<Vec<u8>, String>;
}

/// The references a server advertises.
#[derive(Debug, Default, PartialEq, Eq)]
struct Advertisement {
    /// Branches and tags (peeled entries `^{}` left out), in the server's order.
    refs: Vec<(Oid, String)>,
    /// `HEAD`'s branch, from the `symref=HEAD:...` capability.
    head: Option<String>,
}

/// One pkt-line: its payload, or None for a flush packet (`0000`).
fn read_pkt<'a>(input: &mut &'a [u8]) -> Result<Option<&'a [u8]>, String> {
    if input.len() < 4 {
        return Err("truncated packet".to_owned());
    }
    let length = std::str::from_utf8(&input[..4])
        .ok()
        .and_then(|hex| usize::from_str_radix(hex, 16).ok())
        .ok_or_else(|| "invalid packet length".to_owned())?;
    if length == 0 {
        *input = &input[4..];
        return Ok(None);
    }
    if length < 4 || length > input.len() {
        return Err("invalid packet length".to_owned());
    }
    let payload = &input[4..length];
    *input = &input[length..];
    Ok(Some(payload))
}

fn pkt(text: &str) -> Vec<u8> {
    let mut line = format!("{:04x}", text.len() + 4).into_bytes();
    line.extend_from_slice(text.as_bytes());
    line
}

fn parse_advertisement(body: &[u8]) -> Result<Advertisement, String> {
    let mut input = body;
    // `# service=git-upload-pack`, then a flush.
    match read_pkt(&mut input)? {
        Some(line) if line.starts_with(b"# service=git-upload-pack") => {}
        _ => {
            return Err(
                "the server does not speak git's smart HTTP protocol (no `# service=git-upload-pack` line)"
                    .to_owned(),
            );
        }
    }
    if read_pkt(&mut input)?.is_some() {
        return Err("the service line is not followed by a flush packet".to_owned());
    }
    let mut advertisement = Advertisement::default();
    let mut first = true;
    while let Some(line) = read_pkt(&mut input)? {
        let line = std::str::from_utf8(line)
            .map_err(|_| "a reference line is not UTF-8".to_owned())?
            .trim_end_matches('\n');
        let (reference, capabilities) = match line.split_once('\0') {
            Some((reference, capabilities)) => (reference, Some(capabilities)),
            None => (line, None),
        };
        if first {
            first = false;
            if let Some(capabilities) = capabilities {
                advertisement.head = capabilities.split(' ').find_map(|capability| {
                    capability.strip_prefix("symref=HEAD:").map(str::to_owned)
                });
            }
        }
        let (oid, name) = reference
            .split_once(' ')
            .ok_or_else(|| format!("invalid reference line `{line}`"))?;
        let oid = Oid::from_str(oid).map_err(|_| format!("invalid object id in `{line}`"))?;
        if oid.is_zero() || name.ends_with("^{}") {
            // `capabilities^{}` of an empty repository, and peeled tags.
            continue;
        }
        if name.starts_with("refs/heads/") || name.starts_with("refs/tags/") {
            advertisement.refs.push((oid, name.to_owned()));
        }
    }
    Ok(advertisement)
}

/// The pack in an upload-pack answer: acknowledgements, then side-band packets (band 1
/// the pack, 2 progress, 3 a fatal error).
fn extract_pack(body: &[u8]) -> Result<Vec<u8>, String> {
    let mut input = body;
    let mut pack = Vec::new();
    while !input.is_empty() {
        let Some(line) = read_pkt(&mut input)? else {
            break;
        };
        if line.starts_with(b"NAK") || line.starts_with(b"ACK") {
            continue;
        }
        match line.split_first() {
            Some((1, data)) => pack.extend_from_slice(data),
            Some((2, _)) => {}
            Some((3, message)) => {
                return Err(format!(
                    "the server failed: {}",
                    String::from_utf8_lossy(message).trim()
                ));
            }
            _ => {
                if line.starts_with(b"ERR ") {
                    return Err(format!(
                        "the server refused: {}",
                        String::from_utf8_lossy(&line[4..]).trim()
                    ));
                }
                return Err("unexpected packet in the server's answer".to_owned());
            }
        }
    }
    Ok(pack)
}

/// Fetches every branch and tag of `url` into `mirror` over `http`, dropping the ones that
/// are gone, and returns the remote's default branch as a full ref name, if it has one.
pub(crate) fn fetch(
    mirror: &Repository,
    url: &str,
    http: &dyn SmartHttp,
) -> Result<Option<String>, String> {
    let base = url.trim_end_matches('/');
    let advertisement =
        parse_advertisement(&http.get(&format!("{base}/info/refs?service=git-upload-pack"))?)?;
    let odb = mirror.odb().map_err(|error| error.message().to_owned())?;
    let mut wants: Vec<Oid> = Vec::new();
    for (oid, _) in &advertisement.refs {
        if !odb.exists(*oid) && !wants.contains(oid) {
            wants.push(*oid);
        }
    }
    if !wants.is_empty() {
        let mut request = Vec::new();
        for (index, oid) in wants.iter().enumerate() {
            if index == 0 {
                request.extend(pkt(&format!(
                    "want {oid} side-band-64k ofs-delta agent=paved\n"
                )));
            } else {
                request.extend(pkt(&format!("want {oid}\n")));
            }
        }
        request.extend_from_slice(b"0000");
        for reference in mirror
            .references()
            .map_err(|error| error.message().to_owned())?
            .flatten()
        {
            if let Some(oid) = reference.target() {
                request.extend(pkt(&format!("have {oid}\n")));
            }
        }
        request.extend(pkt("done\n"));
        let answer = http.post(
            &format!("{base}/git-upload-pack"),
            "application/x-git-upload-pack-request",
            request,
        )?;
        let pack = extract_pack(&answer)?;
        let mut writer = odb
            .packwriter()
            .map_err(|error| error.message().to_owned())?;
        writer
            .write_all(&pack)
            .map_err(|error| format!("cannot index the pack: {error}"))?;
        writer
            .commit()
            .map_err(|error| format!("cannot index the pack: {}", error.message()))?;
    }
    for (oid, name) in &advertisement.refs {
        mirror
            .reference(name, *oid, true, "fetch")
            .map_err(|error| error.message().to_owned())?;
    }
    // Pruned: a branch or tag the remote no longer has goes from the mirror too.
    let stale: Vec<String> = mirror
        .references()
        .map_err(|error| error.message().to_owned())?
        .flatten()
        .filter_map(|reference| reference.name().ok().map(str::to_owned))
        .filter(|name| {
            (name.starts_with("refs/heads/") || name.starts_with("refs/tags/"))
                && !advertisement
                    .refs
                    .iter()
                    .any(|(_, advertised)| advertised == name)
        })
        .collect();
    for name in stale {
        if let Ok(mut reference) = mirror.find_reference(&name) {
            reference
                .delete()
                .map_err(|error| error.message().to_owned())?;
        }
    }
    Ok(advertisement.head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_advertisement() {
        let oid = "1111111111111111111111111111111111111111";
        let tag = "2222222222222222222222222222222222222222";
        let mut body = pkt("# service=git-upload-pack\n");
        body.extend_from_slice(b"0000");
        body.extend(pkt(&format!(
            "{oid} HEAD\0multi_ack side-band-64k symref=HEAD:refs/heads/main agent=git/2\n"
        )));
        body.extend(pkt(&format!("{oid} refs/heads/main\n")));
        body.extend(pkt(&format!("{tag} refs/tags/v1\n")));
        body.extend(pkt(&format!("{oid} refs/tags/v1^{{}}\n")));
        body.extend(pkt(&format!("{oid} refs/pull/1/head\n")));
        body.extend_from_slice(b"0000");
        let advertisement = parse_advertisement(&body).expect("parses");
        assert_eq!(advertisement.head.as_deref(), Some("refs/heads/main"));
        let names: Vec<&str> = advertisement
            .refs
            .iter()
            .map(|(_, name)| name.as_str())
            .collect();
        assert_eq!(names, ["refs/heads/main", "refs/tags/v1"]);
        assert!(parse_advertisement(b"<html>").is_err());
    }

    #[test]
    fn extracts_the_pack_from_side_band_packets() {
        let mut body = pkt("NAK\n");
        let mut data = vec![1u8];
        data.extend_from_slice(b"PACK");
        body.extend(format!("{:04x}", data.len() + 4).into_bytes());
        body.extend(&data);
        body.extend(pkt("\u{2}counting objects\n"));
        body.extend_from_slice(b"0000");
        assert_eq!(extract_pack(&body).expect("a pack"), b"PACK");
        let mut failed = pkt("NAK\n");
        failed.extend(pkt("\u{3}out of memory\n"));
        assert_eq!(
            extract_pack(&failed).expect_err("fails"),
            "the server failed: out of memory"
        );
    }
}
