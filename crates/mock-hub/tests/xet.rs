//! The Xet side of the mock Hub over HTTP: resolve headers, tree `xetHash`, the token endpoint,
//! v2/v1 reconstructions with ranges, signed xorb ranges (single and multipart), the bridge,
//! and the Xet faults.

mod common;

use common::{TestHub, header};
use hfdl_mock_hub::xet::xorb::decode_chunks;
use hfdl_mock_hub::{Fault, FaultRule, FileChange, RepoOptions, RepoType, XetOptions};
use serde_json::Value;

const REPO: &str = "acme/xet";

fn data(len: usize, seed: u64) -> Vec<u8> {
    hfdl_mock_hub::PseudoRandom::bytes(seed, len)
}

fn setup() -> (TestHub, Vec<u8>, String) {
    let t = TestHub::start();
    let fixtures = t.fixtures();
    fixtures
        .create_repo(RepoType::Model, REPO, RepoOptions::default())
        .unwrap();
    fixtures
        .enable_xet(RepoType::Model, REPO, XetOptions::default())
        .unwrap();
    let bytes = data(1_000_000, 5);
    let commit = fixtures
        .commit(
            RepoType::Model,
            REPO,
            "main",
            "x",
            vec![FileChange::lfs("w.bin", bytes.clone())],
        )
        .unwrap();
    (t, bytes, commit)
}

fn rule(path_contains: &str, fault: Fault) -> FaultRule {
    FaultRule {
        path_contains: path_contains.to_owned(),
        fault,
        times: Some(1),
    }
}

/// `(token, cas url, xet hash)` through the resolve HEAD and the token endpoint.
fn token(t: &TestHub, commit: &str) -> (String, String, String) {
    let head = t.head(&format!("/{REPO}/resolve/main/w.bin"));
    assert_eq!(head.status(), 302);
    let hash = header(head.headers(), "x-xet-hash").to_owned();
    let link = header(head.headers(), "link");
    let token_url = format!(
        "{}/api/models/{REPO}/xet-read-token/{commit}",
        t.hub.endpoint()
    );
    assert!(
        link.contains(&format!("<{token_url}>; rel=\"xet-auth\"")),
        "{link}"
    );
    assert!(link.contains(&format!(
        "<{}/v1/reconstructions/{hash}>; rel=\"xet-reconstruction-info\"",
        t.hub.cas_origin()
    )));
    let response = t.client.get(&token_url).send().unwrap();
    assert_eq!(response.status(), 200);
    let access = header(response.headers(), "x-xet-access-token").to_owned();
    let value: Value = response.json().unwrap();
    assert_eq!(value["accessToken"], access.as_str());
    assert_eq!(value["casUrl"], t.hub.cas_origin().as_str());
    (access, t.hub.cas_origin(), hash)
}

fn reconstruction(t: &TestHub, cas: &str, token: &str, hash: &str, range: Option<&str>) -> Value {
    let mut request = t
        .client
        .get(format!("{cas}/v2/reconstructions/{hash}"))
        .bearer_auth(token);
    if let Some(range) = range {
        request = request.header("range", range);
    }
    let response = request.send().unwrap();
    assert_eq!(response.status(), 200);
    response.json().unwrap()
}

/// Fetches every v2 range separately, as hf_xet does, and assembles the file.
fn assemble(t: &TestHub, plan: &Value) -> Vec<u8> {
    let mut chunks = std::collections::BTreeMap::new();
    for (xorb, entries) in plan["xorbs"].as_object().unwrap() {
        for entry in entries.as_array().unwrap() {
            for range in entry["ranges"].as_array().unwrap() {
                let response = t
                    .client
                    .get(entry["url"].as_str().unwrap())
                    .header(
                        "range",
                        format!(
                            "bytes={}-{}",
                            range["bytes"]["start"], range["bytes"]["end"]
                        ),
                    )
                    .send()
                    .unwrap();
                assert_eq!(response.status(), 206);
                let decoded = decode_chunks(&response.bytes().unwrap()).unwrap();
                let first = range["chunks"]["start"].as_u64().unwrap();
                for (i, chunk) in decoded.into_iter().enumerate() {
                    chunks.insert((xorb.clone(), first + i as u64), chunk);
                }
            }
        }
    }
    let mut out = Vec::new();
    for term in plan["terms"].as_array().unwrap() {
        let xorb = term["hash"].as_str().unwrap().to_owned();
        let before = out.len();
        for i in term["range"]["start"].as_u64().unwrap()..term["range"]["end"].as_u64().unwrap() {
            out.extend_from_slice(&chunks[&(xorb.clone(), i)]);
        }
        assert_eq!(
            (out.len() - before) as u64,
            term["unpacked_length"].as_u64().unwrap()
        );
    }
    out.split_off(plan["offset_into_first_range"].as_u64().unwrap() as usize)
}

#[test]
fn the_read_path_end_to_end() {
    let (t, bytes, commit) = setup();
    let tree = t.json(&format!("/api/models/{REPO}/tree/main"));
    let (token, cas, hash) = token(&t, &commit);
    assert_eq!(tree[0]["xetHash"], hash.as_str());
    let whole = reconstruction(&t, &cas, &token, &hash, None);
    assert_eq!(assemble(&t, &whole), bytes);
    let part = reconstruction(&t, &cas, &token, &hash, Some("bytes=300000-700000"));
    assert!(part["offset_into_first_range"].as_u64().unwrap() > 0);
    let got = assemble(&t, &part);
    assert_eq!(&got[..400_001], &bytes[300_000..=700_000]);
    // v1 too.
    let v1: Value = t
        .client
        .get(format!("{cas}/v1/reconstructions/{hash}"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(v1["fetch_info"].is_object(), "{v1}");
    // No token, past the end.
    let anonymous = t
        .client
        .get(format!("{cas}/v2/reconstructions/{hash}"))
        .send()
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let past = t
        .client
        .get(format!("{cas}/v2/reconstructions/{hash}"))
        .bearer_auth(&token)
        .header("range", "bytes=1000000-1000010")
        .send()
        .unwrap();
    assert_eq!(past.status(), 416);
    // Several ranges in one request: multipart/byteranges; a byte outside: 403.
    let (xorb, entries) = whole["xorbs"].as_object().unwrap().iter().next().unwrap();
    let url = entries[0]["url"].as_str().unwrap();
    let end = entries[0]["ranges"][0]["bytes"]["end"].as_u64().unwrap();
    let multi = t
        .client
        .get(url)
        .header("range", "bytes=0-9,20-29")
        .send()
        .unwrap();
    assert_eq!(multi.status(), 206, "{xorb}");
    assert!(header(multi.headers(), "content-type").starts_with("multipart/byteranges; boundary="));
    let text = String::from_utf8_lossy(&multi.bytes().unwrap()).into_owned();
    assert!(
        text.contains(&format!("Content-Range: bytes 20-29/{}", end + 1)),
        "{text}"
    );
    let outside = t
        .client
        .get(url)
        .header("range", format!("bytes=0-{}", end + 1))
        .send()
        .unwrap();
    assert!(matches!(outside.status().as_u16(), 403 | 416));
    // The bridge serves the whole file with the sha256 ETag.
    let location = t.cdn_url(&format!("/{REPO}/resolve/main/w.bin"));
    assert!(location.contains("/xet-bridge-us/"), "{location}");
    let bridged = t.client.get(&location).send().unwrap();
    assert_eq!(bridged.status(), 200);
    assert_eq!(
        header(bridged.headers(), "etag"),
        format!("\"{}\"", common::sha256_hex(&bytes))
    );
    assert_eq!(bridged.bytes().unwrap().as_ref(), bytes.as_slice());
    let counters = t.hub.counters();
    assert_eq!(counters.xet_bridge, 1);
    assert!(counters.xet_reconstruction >= 5 && counters.xet_xorb >= 3 && counters.xet_token == 1);
}

#[test]
fn xet_faults() {
    let (t, bytes, commit) = setup();
    let (token, cas, hash) = token(&t, &commit);
    let get = |range: Option<&str>| {
        let mut request = t
            .client
            .get(format!("{cas}/v2/reconstructions/{hash}"))
            .bearer_auth(&token);
        if let Some(range) = range {
            request = request.header("range", range);
        }
        request.send().unwrap()
    };
    t.hub
        .add_fault(rule("/reconstructions/", Fault::ExpiredToken));
    assert_eq!(get(None).status(), 401);
    t.hub
        .add_fault(rule("/reconstructions/", Fault::Status(503)));
    assert_eq!(get(None).status(), 503);
    t.hub.add_fault(rule(
        "/reconstructions/",
        Fault::RateLimit {
            retry_after_secs: 1,
        },
    ));
    assert_eq!(get(None).status(), 429);
    t.hub
        .add_fault(rule("/reconstructions/", Fault::WrongUnpackedLength));
    let wrong: Value = get(None).json().unwrap();
    let good: Value = get(None).json().unwrap();
    assert_eq!(
        wrong["terms"][0]["unpacked_length"].as_u64().unwrap(),
        good["terms"][0]["unpacked_length"].as_u64().unwrap() + 1
    );
    let (_, entries) = good["xorbs"].as_object().unwrap().iter().next().unwrap();
    let url = entries[0]["url"].as_str().unwrap().to_owned();
    let range = format!(
        "bytes={}-{}",
        entries[0]["ranges"][0]["bytes"]["start"], entries[0]["ranges"][0]["bytes"]["end"]
    );
    let fetch = || t.client.get(&url).header("range", &range).send().unwrap();
    t.hub.add_fault(rule("/xorb/", Fault::ExpiredUrl));
    assert_eq!(fetch().status(), 403);
    t.hub.add_fault(rule("/xorb/", Fault::FlipChunkByte));
    let flipped = fetch().bytes().unwrap();
    let clean = fetch().bytes().unwrap();
    assert_ne!(flipped, clean);
    assert_eq!(flipped[9..], clean[9..]);
    assert_eq!(
        decode_chunks(&clean).unwrap().concat(),
        bytes[..decode_chunks(&clean).unwrap().concat().len()]
    );
    t.hub.add_fault(rule("/xorb/", Fault::CutAfter(1000)));
    assert!(fetch().bytes().is_err());
    t.hub
        .add_fault(rule("/reconstructions/", Fault::ExpiredUrl));
    let expired: Value = get(None).json().unwrap();
    let (_, entries) = expired["xorbs"].as_object().unwrap().iter().next().unwrap();
    let status = t
        .client
        .get(entries[0]["url"].as_str().unwrap())
        .header("range", &range)
        .send()
        .unwrap()
        .status();
    assert_eq!(status, 403);
    // An expired token from the token endpoint.
    t.hub
        .add_fault(rule("/xet-read-token/", Fault::ExpiredToken));
    let value: Value = t
        .client
        .get(format!(
            "{}/api/models/{REPO}/xet-read-token/main",
            t.hub.endpoint()
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let stale = value["accessToken"].as_str().unwrap();
    let response = t
        .client
        .get(format!("{cas}/v2/reconstructions/{hash}"))
        .bearer_auth(stale)
        .send()
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[test]
fn private_repos_need_the_hub_token_for_a_xet_token() {
    let t = TestHub::start();
    let fixtures = t.fixtures();
    fixtures
        .enable_xet(RepoType::Model, common::PRIVATE, XetOptions::default())
        .unwrap();
    fixtures
        .commit(
            RepoType::Model,
            common::PRIVATE,
            "main",
            "x",
            vec![FileChange::lfs("w.bin", data(10_000, 1))],
        )
        .unwrap();
    let path = format!("/api/models/{}/xet-read-token/main", common::PRIVATE);
    assert_eq!(t.get(&path).status(), 401);
    assert_eq!(t.get_auth(&path, common::ALICE).status(), 200);
}
