//! Authentication as hub-protocol §2.3 describes it: private repos hide behind `RepoNotFound`
//! (401 anonymous, 404 signed in), gated repos show their metadata to anyone but refuse content
//! (401 anonymous, 403 signed in without approval, `GatedRepo`), an unknown token is a bare 401
//! even on a public repo, and the CDN neither needs nor receives the token.

mod common;

use common::{ALICE, BOB, CAROL, GATED, MODEL, PRIVATE, TestHub, header, maybe_header};
use hfdl_mock_hub::RequestKind;

/// Reads a regular file through its `307` to `/api/resolve-cache/`, which checks the token too.
fn read_as(t: &TestHub, resolve_path: &str, token: &str) -> Vec<u8> {
    let redirect = t.get_auth(resolve_path, token);
    assert_eq!(redirect.status(), 307, "{resolve_path}");
    let location = header(redirect.headers(), "location").to_owned();
    assert_eq!(
        t.get(&location).status(),
        401,
        "resolve-cache checks access too"
    );
    let response = t.get_auth(&location, token);
    assert_eq!(response.status(), 200, "{location}");
    response.bytes().unwrap().to_vec()
}

#[test]
fn private_repo_is_not_found_for_anonymous_and_strangers() {
    let t = TestHub::start();
    for path in [
        format!("/api/models/{PRIVATE}"),
        format!("/api/models/{PRIVATE}/revision/main"),
        format!("/api/models/{PRIVATE}/tree/main"),
        format!("/api/models/{PRIVATE}/refs"),
        format!("/api/models/{PRIVATE}/auth-check"),
        format!("/api/models/{PRIVATE}/commits/main"),
    ] {
        common::assert_hub_error_body(t.get(&path), 401, Some("RepoNotFound"));
        common::assert_hub_error_body(t.get_auth(&path, CAROL), 404, Some("RepoNotFound"));
        assert_eq!(t.get_auth(&path, ALICE).status(), 200, "{path} as owner");
    }
    let file = format!("/{PRIVATE}/resolve/main/config.json");
    let headers = common::assert_hub_error(&t.head(&file), 401, Some("RepoNotFound"));
    assert_eq!(header(&headers, "x-error-message"), "Repository not found");
    common::assert_hub_error(&t.head_auth(&file, CAROL), 404, Some("RepoNotFound"));
    assert_eq!(read_as(&t, &file, ALICE), b"{\"secret\": true}");
}

#[test]
fn a_missing_repo_looks_exactly_like_a_private_one() {
    let t = TestHub::start();
    let missing = t.get("/api/models/acme/does-not-exist");
    let private = t.get(&format!("/api/models/{PRIVATE}"));
    assert_eq!(missing.status(), private.status());
    let missing = common::assert_hub_error(&missing, 401, Some("RepoNotFound"));
    let private = common::assert_hub_error(&private, 401, Some("RepoNotFound"));
    assert_eq!(
        header(&missing, "x-error-message"),
        header(&private, "x-error-message")
    );
}

#[test]
fn gated_metadata_is_public_but_content_needs_approval() {
    let t = TestHub::start();
    let info = t.json(&format!("/api/models/{GATED}"));
    assert_eq!(info["gated"], "manual");
    assert!(info["siblings"].as_array().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        t.get(&format!("/api/models/{GATED}/tree/main")).status(),
        200
    );
    assert_eq!(
        t.get(&format!("/api/models/{GATED}/commits/main")).status(),
        200
    );

    let file = format!("/{GATED}/resolve/main/config.json");
    let anonymous = common::assert_hub_error(&t.head(&file), 401, Some("GatedRepo"));
    assert_eq!(
        header(&anonymous, "x-error-message"),
        format!(
            "Access to model {GATED} is restricted. You must have access to it and be authenticated to access it. Please log in."
        )
    );
    let stranger = common::assert_hub_error(&t.head_auth(&file, CAROL), 403, Some("GatedRepo"));
    assert!(
        header(&stranger, "x-error-message").contains("not in the authorized list"),
        "{stranger:?}"
    );
    common::assert_hub_error_body(t.get(&file), 401, Some("GatedRepo"));

    assert_eq!(read_as(&t, &file, BOB), b"{\"gated\": true}");

    let check = format!("/api/models/{GATED}/auth-check");
    common::assert_hub_error_body(t.get(&check), 401, Some("GatedRepo"));
    common::assert_hub_error_body(t.get_auth(&check, CAROL), 403, Some("GatedRepo"));
    assert_eq!(t.get_auth(&check, BOB).status(), 200);
}

#[test]
fn gated_lfs_content_redirects_only_for_approved_users() {
    let t = TestHub::start();
    let file = format!("/{GATED}/resolve/main/model.safetensors");
    common::assert_hub_error(&t.head(&file), 401, Some("GatedRepo"));
    let approved = t.head_auth(&file, BOB);
    assert_eq!(approved.status(), 302);
    let location = header(approved.headers(), "location");
    assert!(location.starts_with(&t.hub.cdn_origin()), "{location}");
}

#[test]
fn an_unknown_token_is_a_bare_401_even_on_public_repos() {
    let t = TestHub::start();
    for response in [
        t.get_auth(&format!("/api/models/{MODEL}"), "hf_not_a_real_token"),
        t.get_auth(&format!("/{MODEL}/resolve/main/config.json"), "hf_nope"),
        t.get_auth("/api/whoami-v2", "hf_nope"),
    ] {
        let headers = response.headers().clone();
        assert_eq!(response.status(), 401);
        assert_eq!(maybe_header(&headers, "x-error-code"), None, "{headers:?}");
        let body: serde_json::Value = response.json().unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": "Invalid credentials in Authorization header"})
        );
    }
    let head = t.head_auth(&format!("/{MODEL}/resolve/main/config.json"), "hf_nope");
    assert_eq!(head.status(), 401);
    assert_eq!(
        header(head.headers(), "x-error-message"),
        "Invalid credentials in Authorization header"
    );
    // A malformed header (no `Bearer `) is no better than a wrong token.
    let malformed = t
        .client
        .get(t.url(&format!("/api/models/{MODEL}")))
        .header("authorization", BOB)
        .send()
        .unwrap();
    assert_eq!(malformed.status(), 401);
}

#[test]
fn whoami_needs_a_token() {
    let t = TestHub::start();
    let response = t.get("/api/whoami-v2");
    assert_eq!(response.status(), 401);
    let me: serde_json::Value = t.get_auth("/api/whoami-v2", ALICE).json().unwrap();
    assert_eq!(me["name"], "alice");
}

#[test]
fn the_cdn_needs_no_token_and_the_log_shows_who_sent_one() {
    let t = TestHub::start();
    let resolve = format!("/{GATED}/resolve/main/model.safetensors");
    let redirect = t.get_auth(&resolve, BOB);
    assert_eq!(redirect.status(), 302);
    let location = header(redirect.headers(), "location").to_owned();

    // The signed URL is the credential: fetched without a token, it serves the bytes.
    let plain = t.client.get(&location).send().unwrap();
    assert_eq!(plain.status(), 200);
    let info = t.file(
        hfdl_mock_hub::RepoType::Model,
        GATED,
        "main",
        "model.safetensors",
    );
    assert_eq!(
        common::sha256_hex(&plain.bytes().unwrap()),
        info.content_sha256
    );
    // A client that leaks the token to the CDN is still served, but the log records the leak.
    let leaky = t.client.get(&location).bearer_auth(BOB).send().unwrap();
    assert_eq!(leaky.status(), 200);
    drop(leaky.bytes().unwrap());

    let requests = t.hub.requests();
    let hub_request = requests
        .iter()
        .find(|r| r.kind == RequestKind::ResolveGet)
        .unwrap();
    assert_eq!(
        hub_request.authorization.as_deref(),
        Some(format!("Bearer {BOB}").as_str())
    );
    let cdn: Vec<_> = requests
        .iter()
        .filter(|r| r.kind == RequestKind::Cdn)
        .map(|r| r.authorization.clone())
        .collect();
    assert_eq!(cdn, vec![None, Some(format!("Bearer {BOB}"))]);
}

#[test]
fn private_repos_stay_hidden_from_tree_and_paths_info_for_strangers() {
    let t = TestHub::start();
    let response = t
        .client
        .post(t.url(&format!("/api/models/{PRIVATE}/paths-info/main")))
        .bearer_auth(CAROL)
        .form(&[("paths", "config.json")])
        .send()
        .unwrap();
    common::assert_hub_error_body(response, 404, Some("RepoNotFound"));
    let owner = t
        .client
        .post(t.url(&format!("/api/models/{PRIVATE}/paths-info/main")))
        .bearer_auth(ALICE)
        .form(&[("paths", "config.json")])
        .send()
        .unwrap();
    assert_eq!(owner.status(), 200);
    let entries: serde_json::Value = owner.json().unwrap();
    assert_eq!(entries[0]["path"], "config.json");
}
