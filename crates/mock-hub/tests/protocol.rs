//! The mock Hub against hub-protocol.md §1, §2 and §10: repo info, revisions, tree, paths-info,
//! refs, commits, whoami, resolve (regular, LFS, CDN), ranges, conditional requests, renames, and a
//! branch moving while the server runs.

mod common;

use std::collections::BTreeSet;

use common::{
    CONFIG, DATASET, MODEL, TestHub, WEIGHTS_SIZE, git_sha1, header, maybe_header, sha256_hex,
};
use hfdl_mock_hub::fixtures::format_date;
use hfdl_mock_hub::{FileChange, RepoType, ServerOptions};
use serde_json::{Value, json};

/// The files of `acme/tiny` at `main`.
const MAIN_FILES: [&str; 8] = [
    "README.md",
    "config.json",
    "model.safetensors",
    "onnx/model.onnx",
    "sub/c.json",
    "sub/dir/a.txt",
    "sub/dir/b.txt",
    "with space.txt",
];

fn siblings(info: &Value) -> Vec<String> {
    info["siblings"]
        .as_array()
        .unwrap_or_else(|| panic!("no siblings in {info}"))
        .iter()
        .map(|s| s["rfilename"].as_str().unwrap().to_owned())
        .collect()
}

fn paths(entries: &Value) -> Vec<String> {
    entries
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {entries}"))
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_owned())
        .collect()
}

fn sorted(items: &[&str]) -> Vec<String> {
    let mut items: Vec<String> = items.iter().map(|s| (*s).to_owned()).collect();
    items.sort();
    items
}

fn entry<'v>(entries: &'v Value, path: &str) -> &'v Value {
    entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == path)
        .unwrap_or_else(|| panic!("{path} not in {entries}"))
}

// ---------------------------------------------------------------------------------------------
// Repo info (§1.3)

#[test]
fn repo_info_has_sha_and_siblings() {
    let t = TestHub::start();
    let info = t.json("/api/models/acme/tiny");
    assert_eq!(info["sha"], t.commits.main.as_str());
    assert_eq!(info["id"], MODEL);
    assert_eq!(info["private"], false);
    assert_eq!(info["gated"], false);
    let mut names = siblings(&info);
    names.sort();
    assert_eq!(names, sorted(&MAIN_FILES));
    // Without blobs=true siblings carry only the name.
    assert!(info["siblings"][0].get("size").is_none(), "{info}");

    let at_v1 = t.json("/api/models/acme/tiny/revision/v1");
    assert_eq!(at_v1["sha"], t.commits.first.as_str());
    let mut names = siblings(&at_v1);
    names.sort();
    assert_eq!(
        names,
        sorted(&["README.md", "config.json", "model.safetensors"])
    );

    let at_main = t.json("/api/models/acme/tiny/revision/main");
    assert_eq!(at_main["sha"], t.commits.main.as_str());
}

#[test]
fn repo_info_blobs_true_and_python_true_give_file_metadata() {
    let t = TestHub::start();
    let weights = t.file(RepoType::Model, MODEL, "main", "model.safetensors");
    let pointer = weights.lfs_pointer();
    for query in ["blobs=true", "blobs=True", "blobs=1"] {
        let info = t.json(&format!("/api/models/acme/tiny/revision/main?{query}"));
        let siblings = info["siblings"].as_array().unwrap();
        let lfs = siblings
            .iter()
            .find(|s| s["rfilename"] == "model.safetensors")
            .unwrap();
        assert_eq!(lfs["size"], WEIGHTS_SIZE, "{query}: {lfs}");
        assert_eq!(lfs["blobId"], git_sha1(pointer.as_bytes()), "{query}");
        assert_eq!(
            lfs["lfs"],
            json!({
                "sha256": weights.content_sha256,
                "size": WEIGHTS_SIZE,
                "pointerSize": pointer.len(),
            }),
            "{query}"
        );
        let config = siblings
            .iter()
            .find(|s| s["rfilename"] == "config.json")
            .unwrap();
        assert_eq!(config["size"], CONFIG.len(), "{query}");
        assert_eq!(config["blobId"], git_sha1(CONFIG), "{query}");
        assert!(config.get("lfs").is_none(), "{query}: {config}");
    }
    for query in ["blobs=false", "blobs=False", "blobs=0"] {
        let info = t.json(&format!("/api/models/acme/tiny?{query}"));
        assert!(
            info["siblings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s.get("size").is_none() && s.get("lfs").is_none()),
            "{query}: {info}"
        );
    }
}

#[test]
fn dataset_info_lives_under_api_datasets() {
    let t = TestHub::start();
    let info = t.json("/api/datasets/acme/squad?blobs=true");
    assert_eq!(
        info["sha"],
        t.fixtures()
            .resolve_revision(RepoType::Dataset, DATASET, "main")
            .unwrap()
    );
    let mut names = siblings(&info);
    names.sort();
    assert_eq!(names, ["README.md", "data/train.parquet"]);
    let parquet = &info["siblings"][1];
    assert_eq!(parquet["lfs"]["size"], 50_000);
    // A dataset is not a model.
    common::assert_hub_error(&t.get("/api/models/acme/squad"), 401, Some("RepoNotFound"));
}

// ---------------------------------------------------------------------------------------------
// Revisions (§1.2)

#[test]
fn revisions_are_decoded_in_every_form() {
    let t = TestHub::start();
    let c = &t.commits;
    for (revision, expected) in [
        ("refs%2Fpr%2F1", &c.first),
        ("feature%2Fx", &c.feature),
        ("v1", &c.first),
        ("main", &c.main),
        ("refs%2Fheads%2Fmain", &c.main),
        (c.main.as_str(), &c.main),
        (c.first.as_str(), &c.first),
    ] {
        let info = t.json(&format!("/api/models/acme/tiny/revision/{revision}"));
        assert_eq!(info["sha"], expected.as_str(), "{revision}");
        let tree = t.get(&format!("/api/models/acme/tiny/tree/{revision}"));
        assert_eq!(tree.status(), 200, "tree {revision}");
        let resolve = t.head(&format!("/acme/tiny/resolve/{revision}/config.json"));
        assert_eq!(resolve.status(), 307, "resolve {revision}");
        assert_eq!(
            header(resolve.headers(), "x-repo-commit"),
            expected.as_str(),
            "resolve {revision}"
        );
    }
    // The feature branch's own file exists only there.
    let only_there = t.head("/acme/tiny/resolve/feature%2Fx/feature.txt");
    assert_eq!(only_there.status(), 307);
    common::assert_hub_error(
        &t.head("/acme/tiny/resolve/main/feature.txt"),
        404,
        Some("EntryNotFound"),
    );
}

#[test]
fn raw_pr_ref_is_accepted_in_tree() {
    let t = TestHub::start();
    let raw = t.json("/api/models/acme/tiny/tree/refs/pr/1");
    let encoded = t.json("/api/models/acme/tiny/tree/refs%2Fpr%2F1");
    assert_eq!(raw, encoded);
    let mut names = paths(&raw);
    names.sort();
    assert_eq!(names, ["README.md", "config.json", "model.safetensors"]);
    // Raw PR ref plus a sub-path.
    t.fixtures()
        .set_pr(RepoType::Model, MODEL, 2, &t.commits.main)
        .unwrap();
    let sub = t.json("/api/models/acme/tiny/tree/refs/pr/2/sub/dir");
    assert_eq!(paths(&sub), ["sub/dir/a.txt", "sub/dir/b.txt"]);
}

#[test]
fn unknown_revision_is_revision_not_found() {
    let t = TestHub::start();
    for path in [
        "/api/models/acme/tiny/revision/nope",
        "/api/models/acme/tiny/tree/nope",
        "/acme/tiny/resolve/nope/config.json",
        "/api/models/acme/tiny/revision/refs%2Fpr%2F9",
        "/api/models/acme/tiny/revision/0000000000000000000000000000000000000000",
        "/api/models/acme/tiny/commits/nope",
    ] {
        common::assert_hub_error_body(t.get(path), 404, Some("RevisionNotFound"));
    }
    let headers = common::assert_hub_error(
        &t.head("/acme/tiny/resolve/nope/config.json"),
        404,
        Some("RevisionNotFound"),
    );
    assert_eq!(header(&headers, "x-error-message"), "Invalid rev id: nope");
}

// ---------------------------------------------------------------------------------------------
// Commits (§1.9; the shape `HfApi.list_repo_commits` reads)

fn commit_ids(page: &Value) -> Vec<String> {
    page.as_array()
        .unwrap_or_else(|| panic!("not an array: {page}"))
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn commits_list_a_revision_history_newest_first() {
    let t = TestHub::start();
    let main = t.json("/api/models/acme/tiny/commits/main");
    assert_eq!(
        commit_ids(&main),
        [t.commits.main.clone(), t.commits.first.clone()]
    );
    let newest = &main[0];
    assert_eq!(newest["title"], "add files");
    assert_eq!(newest["message"], "");
    assert_eq!(newest["authors"][0]["user"], "acme");
    let date = newest["date"].as_str().unwrap();
    assert!(
        date.len() == 24 && date.ends_with('Z') && date.as_bytes()[10] == b'T',
        "the Hub's date format, e.g. 2024-01-01T00:00:00.000Z: {date}"
    );
    assert!(newest.get("formatted").is_none(), "{newest}");

    // Every revision form: a tag, an encoded slashed branch, a raw or encoded PR ref, a commit.
    assert_eq!(
        commit_ids(&t.json("/api/models/acme/tiny/commits/v1")),
        [t.commits.first.as_str()]
    );
    assert_eq!(
        commit_ids(&t.json("/api/models/acme/tiny/commits/feature%2Fx")),
        [
            t.commits.feature.clone(),
            t.commits.main.clone(),
            t.commits.first.clone()
        ]
    );
    for pr in ["refs/pr/1", "refs%2Fpr%2F1"] {
        assert_eq!(
            commit_ids(&t.json(&format!("/api/models/acme/tiny/commits/{pr}"))),
            [t.commits.first.as_str()]
        );
    }
    assert_eq!(
        commit_ids(&t.json(&format!("/api/models/acme/tiny/commits/{}", t.commits.main))),
        [t.commits.main.clone(), t.commits.first.clone()]
    );
    assert_eq!(
        commit_ids(&t.json("/api/datasets/acme/squad/commits/main")).len(),
        1
    );

    // `formatted=True` in huggingface_hub sends `expand[]=formatted`.
    let formatted = t.json("/api/models/acme/tiny/commits/main?expand%5B%5D=formatted");
    assert_eq!(formatted[0]["formatted"]["title"], "add files");
}

#[test]
fn commit_dates_are_the_ones_the_fixture_set() {
    let t = TestHub::start();
    let thirty_days_ago = std::time::SystemTime::now() - std::time::Duration::from_hours(30 * 24);
    let old = t
        .fixtures()
        .commit_at(
            RepoType::Model,
            MODEL,
            "main",
            "an old change\n\nwith a body",
            vec![FileChange::regular("old.txt", b"old".to_vec())],
            std::time::UNIX_EPOCH + std::time::Duration::from_hours(490_896), // 2026-01-01
        )
        .unwrap();
    let page = t.json("/api/models/acme/tiny/commits/main");
    assert_eq!(page[0]["id"], old.as_str());
    assert_eq!(page[0]["date"], "2026-01-01T00:00:00.000Z");
    assert_eq!(page[0]["title"], "an old change");
    assert_eq!(page[0]["message"], "with a body");
    let recent = t
        .fixtures()
        .commit_at(
            RepoType::Model,
            MODEL,
            "main",
            "recent",
            vec![FileChange::regular("new.txt", b"new".to_vec())],
            thirty_days_ago,
        )
        .unwrap();
    let page = t.json("/api/models/acme/tiny/commits/main");
    assert_eq!(page[0]["id"], recent.as_str());
    assert_eq!(page[0]["date"], format_date(thirty_days_ago).as_str());
}

#[test]
fn commit_pages_are_numbered_and_linked() {
    let t = TestHub::start_with(ServerOptions {
        page_size: 2,
        ..Default::default()
    });
    let pages = pages_linked_by(&t, "/api/models/acme/tiny/commits/feature%2Fx", "p=");
    assert_eq!(pages.len(), 2);
    let ids: Vec<String> = pages.iter().flat_map(commit_ids).collect();
    assert_eq!(
        ids,
        [
            t.commits.feature.clone(),
            t.commits.main.clone(),
            t.commits.first.clone()
        ]
    );
    let first = t.get("/api/models/acme/tiny/commits/feature%2Fx?expand%5B%5D=formatted");
    let link = header(first.headers(), "link");
    assert_eq!(
        link,
        format!(
            "<{}/api/models/acme/tiny/commits/feature%2Fx?expand%5B%5D=formatted&p=1>; rel=\"next\"",
            t.hub.endpoint()
        )
    );
    // Two commits fit one page: no Link.
    assert!(
        t.get("/api/models/acme/tiny/commits/main")
            .headers()
            .get("link")
            .is_none()
    );
}

// ---------------------------------------------------------------------------------------------
// Tree (§1.4)

#[test]
fn tree_root_is_not_recursive_by_default() {
    let t = TestHub::start();
    for query in ["", "?recursive=false", "?recursive=False", "?recursive=0"] {
        let entries = t.json(&format!("/api/models/acme/tiny/tree/main{query}"));
        assert_eq!(
            paths(&entries),
            sorted(&[
                "README.md",
                "config.json",
                "model.safetensors",
                "onnx",
                "sub",
                "with space.txt"
            ]),
            "{query}"
        );
        assert_eq!(entry(&entries, "sub")["type"], "directory");
        assert_eq!(entry(&entries, "sub")["size"], 0);
        assert_eq!(
            entry(&entries, "sub")["oid"].as_str().map(str::len),
            Some(40)
        );
        assert_eq!(entry(&entries, "config.json")["type"], "file");
    }
}

#[test]
fn tree_recursive_lists_every_file_and_directory() {
    let t = TestHub::start();
    for flag in ["true", "True", "1"] {
        let entries = t.json(&format!("/api/models/acme/tiny/tree/main?recursive={flag}"));
        let mut expected: Vec<&str> = MAIN_FILES.to_vec();
        expected.extend(["onnx", "sub", "sub/dir"]);
        assert_eq!(paths(&entries), sorted(&expected), "{flag}");
        for dir in ["onnx", "sub", "sub/dir"] {
            assert_eq!(entry(&entries, dir)["type"], "directory");
        }
        for file in MAIN_FILES {
            let info = t.file(RepoType::Model, MODEL, "main", file);
            let e = entry(&entries, file);
            assert_eq!(e["type"], "file");
            assert_eq!(e["size"], info.size, "{file}");
            assert_eq!(e["oid"], info.git_sha1.as_str(), "{file}");
        }
    }
}

#[test]
fn tree_lfs_entry_has_pointer_oid_and_content_sha256() {
    let t = TestHub::start();
    let entries = t.json("/api/models/acme/tiny/tree/main?recursive=true&expand=false");
    let weights = t.file(RepoType::Model, MODEL, "main", "model.safetensors");
    let bytes = t.content(&weights);
    let sha256 = sha256_hex(&bytes);
    let pointer = format!(
        "version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {WEIGHTS_SIZE}\n"
    );
    let e = entry(&entries, "model.safetensors");
    assert_eq!(e["oid"], git_sha1(pointer.as_bytes()));
    assert_eq!(e["size"], WEIGHTS_SIZE);
    assert_eq!(
        e["lfs"],
        json!({ "oid": sha256, "size": WEIGHTS_SIZE, "pointerSize": pointer.len() })
    );
    // A regular file's oid is the sha1 of its content, with no lfs object.
    let config = entry(&entries, "config.json");
    assert_eq!(config["oid"], git_sha1(CONFIG));
    assert!(config.get("lfs").is_none());
    assert!(config.get("lastCommit").is_none());
}

#[test]
fn tree_sub_path_encoded_and_raw() {
    let t = TestHub::start();
    let encoded = t.json("/api/models/acme/tiny/tree/main/sub%2Fdir?recursive=false");
    let raw = t.json("/api/models/acme/tiny/tree/main/sub/dir?recursive=false");
    assert_eq!(paths(&encoded), ["sub/dir/a.txt", "sub/dir/b.txt"]);
    assert_eq!(encoded, raw);
    let sub = t.json("/api/models/acme/tiny/tree/main/sub");
    assert_eq!(paths(&sub), ["sub/c.json", "sub/dir"]);
    assert_eq!(entry(&sub, "sub/dir")["type"], "directory");
    let sub_recursive = t.json("/api/models/acme/tiny/tree/main/sub?recursive=true");
    assert_eq!(
        paths(&sub_recursive),
        ["sub/c.json", "sub/dir", "sub/dir/a.txt", "sub/dir/b.txt"]
    );
    // A revision with a slash plus an encoded sub-path.
    let feature = t.json("/api/models/acme/tiny/tree/feature%2Fx/sub%2Fdir");
    assert_eq!(paths(&feature), ["sub/dir/a.txt", "sub/dir/b.txt"]);
}

#[test]
fn tree_missing_folder_is_entry_not_found() {
    let t = TestHub::start();
    for path in [
        "/api/models/acme/tiny/tree/main/nope",
        "/api/models/acme/tiny/tree/main/sub%2Fnope",
        "/api/models/acme/tiny/tree/v1/sub",
    ] {
        let response = t.get(path);
        let commit = maybe_header(response.headers(), "x-repo-commit").map(str::to_owned);
        common::assert_hub_error_body(response, 404, Some("EntryNotFound"));
        let expected = if path.contains("/v1/") {
            &t.commits.first
        } else {
            &t.commits.main
        };
        assert_eq!(commit.as_deref(), Some(expected.as_str()), "{path}");
    }
}

/// Follows `Link: <…>; rel="next"` verbatim from `first`; returns every page.
fn all_pages(t: &TestHub, first: &str) -> Vec<Value> {
    pages_linked_by(t, first, "cursor=")
}

/// Like [`all_pages`], for links whose query carries the page as `page_param`.
fn pages_linked_by(t: &TestHub, first: &str, page_param: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut url = t.url(first);
    loop {
        let response = t.client.get(&url).send().unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let next = maybe_header(response.headers(), "link").map(|link| {
            let (target, rel) = link.split_once(">; ").unwrap();
            assert_eq!(rel, "rel=\"next\"", "{link}");
            let target = target.strip_prefix('<').unwrap().to_owned();
            assert!(
                target.starts_with(&format!("{}/api/", t.hub.endpoint())),
                "the next link must be absolute: {link}"
            );
            assert!(target.contains(page_param), "{link}");
            target
        });
        pages.push(response.json().unwrap());
        assert!(pages.len() < 100, "pagination does not end");
        match next {
            Some(next) => url = next,
            None => return pages,
        }
    }
}

#[test]
fn tree_pagination_follows_absolute_next_links() {
    let t = TestHub::start_with(ServerOptions {
        page_size: 2,
        ..Default::default()
    });
    let mut expected: Vec<&str> = MAIN_FILES.to_vec();
    expected.extend(["onnx", "sub", "sub/dir"]);
    let pages = all_pages(
        &t,
        "/api/models/acme/tiny/tree/main?recursive=true&expand=false",
    );
    assert_eq!(pages.len(), expected.len().div_ceil(2));
    let mut seen = Vec::new();
    for page in &pages {
        let page = paths(page);
        assert!(!page.is_empty() && page.len() <= 2, "{page:?}");
        seen.extend(page);
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "duplicates: {seen:?}");
    seen.sort();
    assert_eq!(seen, sorted(&expected));

    // Paginating a sub-folder on a slashed revision keeps both in the link.
    let pages = all_pages(&t, "/api/models/acme/tiny/tree/feature%2Fx/sub?recursive=1");
    let mut seen: Vec<String> = pages.iter().flat_map(paths).collect();
    seen.sort();
    assert_eq!(
        seen,
        ["sub/c.json", "sub/dir", "sub/dir/a.txt", "sub/dir/b.txt"]
    );
    assert_eq!(pages.len(), 2);

    // A listing that fits one page has no Link.
    let response = t.get("/api/models/acme/tiny/tree/main/sub%2Fdir");
    assert!(response.headers().get("link").is_none());
}

#[test]
fn tree_expand_adds_last_commit() {
    let t = TestHub::start();
    let entries = t.json("/api/models/acme/tiny/tree/main?recursive=true&expand=true");
    let config = entry(&entries, "config.json");
    assert_eq!(config["lastCommit"]["id"], t.commits.first.as_str());
    assert_eq!(config["lastCommit"]["title"], "initial commit");
    assert!(
        config["lastCommit"]["date"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(config["securityFileStatus"].is_object(), "{config}");
    let added = entry(&entries, "sub/c.json");
    assert_eq!(added["lastCommit"]["id"], t.commits.main.as_str());
    assert_eq!(added["lastCommit"]["title"], "add files");
    let feature = t.json("/api/models/acme/tiny/tree/feature%2Fx?expand=True");
    assert_eq!(
        entry(&feature, "feature.txt")["lastCommit"]["id"],
        t.commits.feature.as_str()
    );
}

// ---------------------------------------------------------------------------------------------
// Paths info (§1.5)

#[test]
fn paths_info_accepts_form_body() {
    let t = TestHub::start();
    let response = t
        .client
        .post(t.url("/api/models/acme/tiny/paths-info/main"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("paths=config.json&paths=sub%2Fdir%2Fa.txt&paths=missing.bin&paths=onnx&expand=false")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let entries: Value = response.json().unwrap();
    let mut names = paths(&entries);
    names.sort();
    assert_eq!(names, ["config.json", "onnx", "sub/dir/a.txt"]);
    assert_eq!(entry(&entries, "onnx")["type"], "directory");
    assert_eq!(entry(&entries, "config.json")["oid"], git_sha1(CONFIG));
    assert!(entry(&entries, "config.json").get("lastCommit").is_none());
}

#[test]
fn paths_info_accepts_json_body() {
    let t = TestHub::start();
    let weights = t.file(RepoType::Model, MODEL, "main", "model.safetensors");
    let response = t
        .client
        .post(t.url("/api/models/acme/tiny/paths-info/refs%2Fpr%2F1"))
        .json(&json!({
            "paths": ["model.safetensors", "sub/dir/a.txt", "nope.txt"],
            "expand": true,
        }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let entries: Value = response.json().unwrap();
    // refs/pr/1 is the first commit: sub/dir/a.txt did not exist yet.
    assert_eq!(paths(&entries), ["model.safetensors"]);
    let e = entry(&entries, "model.safetensors");
    assert_eq!(e["lfs"]["oid"], weights.content_sha256.as_str());
    assert_eq!(e["oid"], weights.git_sha1.as_str());
    assert_eq!(e["lastCommit"]["id"], t.commits.first.as_str());
}

// ---------------------------------------------------------------------------------------------
// Refs and whoami (§1.7, §1.8)

#[test]
fn refs_lists_branches_tags_and_prs_on_request() {
    let t = TestHub::start();
    let c = &t.commits;
    let refs = t.json("/api/models/acme/tiny/refs");
    assert_eq!(
        refs["branches"],
        json!([
            { "name": "feature/x", "ref": "refs/heads/feature/x", "targetCommit": c.feature },
            { "name": "main", "ref": "refs/heads/main", "targetCommit": c.main },
        ])
    );
    assert_eq!(
        refs["tags"],
        json!([{ "name": "v1", "ref": "refs/tags/v1", "targetCommit": c.first }])
    );
    assert!(refs["converts"].is_array());
    assert!(refs.get("pullRequests").is_none(), "{refs}");
    for flag in ["1", "true", "True"] {
        let refs = t.json(&format!("/api/models/acme/tiny/refs?include_prs={flag}"));
        assert_eq!(
            refs["pullRequests"],
            json!([{ "name": "refs/pr/1", "ref": "refs/pr/1", "targetCommit": c.first }]),
            "{flag}"
        );
    }
}

#[test]
fn whoami_v2_describes_the_token_owner() {
    let t = TestHub::start();
    let response = t.get_auth("/api/whoami-v2", common::BOB);
    assert_eq!(response.status(), 200);
    let me: Value = response.json().unwrap();
    assert_eq!(me["name"], "bob");
    let orgs: Vec<&str> = me["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(orgs, ["acme", "friends"]);
    assert_eq!(me["auth"]["accessToken"]["displayName"], "bob-token");
    assert_eq!(me["auth"]["accessToken"]["role"], "read");
    let alice: Value = t.get_auth("/api/whoami-v2", common::ALICE).json().unwrap();
    assert_eq!(alice["name"], "alice");
    assert_eq!(alice["auth"]["accessToken"]["role"], "write");
    assert_eq!(alice["orgs"], json!([]));

    let anonymous = t.get("/api/whoami-v2");
    assert_eq!(anonymous.status(), 401);
    let bad = t.get_auth("/api/whoami-v2", "hf_not_a_real_token");
    assert_eq!(bad.status(), 401);
    assert_eq!(
        bad.json::<Value>().unwrap(),
        json!({ "error": "Invalid credentials in Authorization header" })
    );
}

// ---------------------------------------------------------------------------------------------
// Resolve (§1.6, §1.10, §2.1, §2.2)

#[test]
fn regular_file_redirects_to_resolve_cache() {
    let t = TestHub::start();
    let c = &t.commits;
    for method in ["HEAD", "GET"] {
        let response = if method == "HEAD" {
            t.head("/acme/tiny/resolve/main/config.json")
        } else {
            t.get("/acme/tiny/resolve/main/config.json")
        };
        assert_eq!(response.status(), 307, "{method}");
        let location = header(response.headers(), "location");
        assert_eq!(
            location,
            format!(
                "/api/resolve-cache/models/acme/tiny/{}/config.json?etag=%22{}%22",
                c.main,
                git_sha1(CONFIG)
            ),
            "{method}: relative Location"
        );
        assert_eq!(header(response.headers(), "x-repo-commit"), c.main);
    }
    let location = t.resolve_cache_path("/acme/tiny/resolve/main/config.json");
    let etag = format!("\"{}\"", git_sha1(CONFIG));
    let len = CONFIG.len().to_string();

    let head = t.head(&location);
    assert_eq!(head.status(), 200);
    let h = head.headers();
    assert_eq!(header(h, "etag"), etag);
    assert_eq!(header(h, "x-repo-commit"), c.main);
    assert_eq!(header(h, "content-length"), len);
    assert_eq!(header(h, "accept-ranges"), "bytes");
    assert!(h.get("x-linked-etag").is_none() && h.get("x-linked-size").is_none());

    let get = t.get(&location);
    assert_eq!(get.status(), 200);
    let h = get.headers().clone();
    assert_eq!(header(&h, "etag"), etag);
    assert_eq!(header(&h, "x-repo-commit"), c.main);
    assert_eq!(header(&h, "content-length"), len);
    assert_eq!(header(&h, "accept-ranges"), "bytes");
    assert_eq!(get.bytes().unwrap().as_ref(), CONFIG);
}

#[test]
fn regular_file_served_directly_without_redirect_mode() {
    let t = TestHub::start_with(ServerOptions {
        regular_file_redirect: false,
        ..Default::default()
    });
    let head = t.head("/acme/tiny/resolve/main/config.json");
    assert_eq!(head.status(), 200);
    let h = head.headers();
    assert_eq!(header(h, "etag"), format!("\"{}\"", git_sha1(CONFIG)));
    assert_eq!(header(h, "x-repo-commit"), t.commits.main);
    assert_eq!(header(h, "content-length"), CONFIG.len().to_string());
    assert!(h.get("location").is_none());
    let get = t.get("/acme/tiny/resolve/v1/config.json");
    assert_eq!(get.status(), 200);
    assert_eq!(header(get.headers(), "x-repo-commit"), t.commits.first);
    assert_eq!(get.bytes().unwrap().as_ref(), CONFIG);
    // LFS files still go to the CDN.
    assert_eq!(
        t.head("/acme/tiny/resolve/main/model.safetensors").status(),
        302
    );
}

#[test]
fn lfs_file_redirects_to_the_cdn_with_linked_metadata() {
    let t = TestHub::start();
    let weights = t.file(RepoType::Model, MODEL, "main", "model.safetensors");
    let endpoint = t.hub.endpoint();
    let cdn = t.hub.cdn_origin();
    assert_ne!(endpoint, cdn);
    let port = |origin: &str| origin.rsplit(':').next().unwrap().to_owned();
    assert_ne!(port(&endpoint), port(&cdn), "the CDN is another origin");
    assert!(cdn.starts_with("http://127.0.0.1:"));

    for method in ["HEAD", "GET"] {
        let response = if method == "HEAD" {
            t.head_auth("/acme/tiny/resolve/main/model.safetensors", common::CAROL)
        } else {
            t.get("/acme/tiny/resolve/main/model.safetensors")
        };
        assert_eq!(response.status(), 302, "{method}");
        let h = response.headers();
        let location = header(h, "location");
        assert!(
            location.starts_with(&format!("{cdn}/")),
            "{method}: absolute CDN Location {location}"
        );
        assert!(location.contains("Signature="), "{location}");
        assert_eq!(header(h, "x-repo-commit"), t.commits.main);
        assert_eq!(
            header(h, "x-linked-etag"),
            format!("\"{}\"", weights.content_sha256)
        );
        assert_eq!(header(h, "x-linked-size"), WEIGHTS_SIZE.to_string());
    }

    let location = t.cdn_url("/acme/tiny/resolve/main/model.safetensors");
    let response = t.client.get(&location).send().unwrap();
    assert_eq!(response.status(), 200);
    let h = response.headers().clone();
    for hub_only in [
        "x-repo-commit",
        "x-linked-etag",
        "x-linked-size",
        "x-error-code",
        "x-error-message",
    ] {
        assert!(h.get(hub_only).is_none(), "CDN sent {hub_only}: {h:?}");
    }
    assert_eq!(header(&h, "content-length"), WEIGHTS_SIZE.to_string());
    let body = response.bytes().unwrap();
    assert_eq!(body.len() as u64, WEIGHTS_SIZE);
    assert_eq!(sha256_hex(&body), weights.content_sha256);
    // The CDN HEAD answers too, without auth.
    let head = t.client.head(&location).send().unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        header(head.headers(), "content-length"),
        WEIGHTS_SIZE.to_string()
    );
}

#[test]
fn cdn_rejects_a_tampered_signature() {
    let t = TestHub::start();
    let location = t.cdn_url("/acme/tiny/resolve/main/model.safetensors");
    let (before, after) = location.split_once("Signature=").unwrap();
    let signature: String = after.chars().take_while(|c| *c != '&').collect();
    let flipped: String = signature
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                if c == '0' { '1' } else { '0' }
            } else {
                c
            }
        })
        .collect();
    let tampered = format!("{before}Signature={flipped}{}", &after[signature.len()..]);
    assert_eq!(t.client.get(&tampered).send().unwrap().status(), 403);
    let unsigned = location.replace(&format!("Signature={signature}"), "");
    assert_eq!(t.client.get(&unsigned).send().unwrap().status(), 403);
    // The signature is bound to the object: another object's path with it is refused.
    let other = t.file(RepoType::Model, MODEL, "main", "onnx/model.onnx");
    let weights = t.file(RepoType::Model, MODEL, "main", "model.safetensors");
    let swapped = location.replace(&weights.content_sha256, &other.content_sha256);
    assert_eq!(t.client.get(&swapped).send().unwrap().status(), 403);
    assert_eq!(t.client.get(&location).send().unwrap().status(), 200);
}

#[test]
fn dataset_resolve_uses_the_datasets_prefix() {
    let t = TestHub::start();
    let commit = t
        .fixtures()
        .resolve_revision(RepoType::Dataset, DATASET, "main")
        .unwrap();
    let parquet = t.file(RepoType::Dataset, DATASET, "main", "data/train.parquet");
    let lfs = t.head("/datasets/acme/squad/resolve/main/data/train.parquet");
    assert_eq!(lfs.status(), 302);
    assert_eq!(header(lfs.headers(), "x-repo-commit"), commit);
    assert_eq!(
        header(lfs.headers(), "x-linked-etag"),
        format!("\"{}\"", parquet.content_sha256)
    );
    let body = t
        .client
        .get(header(lfs.headers(), "location"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(sha256_hex(&body), parquet.content_sha256);

    let location = t.resolve_cache_path("/datasets/acme/squad/resolve/main/README.md");
    assert!(
        location.starts_with(&format!(
            "/api/resolve-cache/datasets/acme/squad/{commit}/README.md"
        )),
        "{location}"
    );
    assert_eq!(t.get(&location).bytes().unwrap().as_ref(), b"# squad\n");
    // Without the prefix the id names a (missing) model.
    common::assert_hub_error(
        &t.head("/acme/squad/resolve/main/README.md"),
        401,
        Some("RepoNotFound"),
    );
}

#[test]
fn resolve_decodes_a_percent_encoded_file_path() {
    let t = TestHub::start();
    let location = t.resolve_cache_path("/acme/tiny/resolve/main/with%20space.txt");
    assert!(location.contains("/with%20space.txt?"), "{location}");
    let response = t.get(&location);
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "etag"),
        format!("\"{}\"", git_sha1(b"spaced out\n"))
    );
    assert_eq!(response.bytes().unwrap().as_ref(), b"spaced out\n");
    // Encoded slashes in the file path are decoded too.
    let nested = t.head("/acme/tiny/resolve/main/sub%2Fdir%2Fa.txt");
    assert_eq!(nested.status(), 307);
}

// ---------------------------------------------------------------------------------------------
// Ranges and conditional requests (§2.2, §10)

/// Checks every range form against `url`, whose content is `content`.
fn check_ranges(t: &TestHub, url: &str, content: &[u8]) {
    let size = content.len();
    let get = |range: &str| t.client.get(url).header("range", range).send().unwrap();
    for (range, start, end) in [
        ("bytes=10-99".to_owned(), 10, 99),
        ("bytes=0-0".to_owned(), 0, 0),
        ("bytes=100-".to_owned(), 100, size - 1),
        ("bytes=-50".to_owned(), size - 50, size - 1),
        (format!("bytes=5-{}", size + 1000), 5, size - 1),
        (
            format!("bytes={}-{}", size - 1, size - 1),
            size - 1,
            size - 1,
        ),
        (format!("bytes=-{}", size * 2), 0, size - 1),
    ] {
        let response = get(&range);
        assert_eq!(response.status(), 206, "{url} {range}");
        let h = response.headers().clone();
        assert_eq!(
            header(&h, "content-range"),
            format!("bytes {start}-{end}/{size}"),
            "{range}"
        );
        assert_eq!(
            header(&h, "content-length"),
            (end - start + 1).to_string(),
            "{range}"
        );
        assert_eq!(
            response.bytes().unwrap().as_ref(),
            &content[start..=end],
            "{range}"
        );
    }
    for range in [
        format!("bytes={size}-"),
        format!("bytes={}-{}", size + 5, size + 9),
    ] {
        let response = get(&range);
        assert_eq!(response.status(), 416, "{url} {range}");
        assert_eq!(
            header(response.headers(), "content-range"),
            format!("bytes */{size}"),
            "{range}"
        );
    }
    let full = t.client.get(url).send().unwrap();
    assert_eq!(full.status(), 200);
    assert!(full.headers().get("content-range").is_none());
    assert_eq!(full.bytes().unwrap().as_ref(), content);
}

#[test]
fn ranges_on_the_cdn() {
    let t = TestHub::start();
    let weights = t.file(RepoType::Model, MODEL, "main", "model.safetensors");
    let url = t.cdn_url("/acme/tiny/resolve/main/model.safetensors");
    check_ranges(&t, &url, &t.content(&weights));
}

/// A body of many read chunks, whole and in ranges that start and end inside chunks, several
/// at once: every byte in order (the server reuses its read buffers between chunks).
#[test]
fn large_bodies_arrive_whole_and_in_order() {
    let t = TestHub::start();
    let size = 5 * 1024 * 1024 + 12_345;
    t.fixtures()
        .commit(
            RepoType::Model,
            MODEL,
            "main",
            "large",
            vec![FileChange::generated("large.bin", size, 99)],
        )
        .unwrap();
    let info = t.file(RepoType::Model, MODEL, "main", "large.bin");
    let content = t.content(&info);
    let url = t.cdn_url("/acme/tiny/resolve/main/large.bin");
    std::thread::scope(|scope| {
        let downloads: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| t.client.get(&url).send().unwrap().bytes().unwrap()))
            .collect();
        for download in downloads {
            assert_eq!(sha256_hex(&download.join().unwrap()), info.content_sha256);
        }
    });
    let size = usize::try_from(size).unwrap();
    for (start, end) in [(1, 300_000), (262_143, 2_000_000), (1_048_577, size - 2)] {
        let response = t
            .client
            .get(&url)
            .header("range", format!("bytes={start}-{end}"))
            .send()
            .unwrap();
        assert_eq!(response.status(), 206);
        assert_eq!(
            response.bytes().unwrap().as_ref(),
            &content[start..=end],
            "{start}-{end}"
        );
    }
}

#[test]
fn ranges_on_resolve_cache_and_direct_resolve() {
    let t = TestHub::start();
    let content = b"0123456789".repeat(30);
    t.fixtures()
        .commit(
            RepoType::Model,
            MODEL,
            "main",
            "digits",
            vec![FileChange::regular("digits.txt", content.clone())],
        )
        .unwrap();
    let location = t.resolve_cache_path("/acme/tiny/resolve/main/digits.txt");
    check_ranges(&t, &t.url(&location), &content);

    let direct = TestHub::start_with(ServerOptions {
        regular_file_redirect: false,
        ..Default::default()
    });
    let config = direct.url("/acme/tiny/resolve/main/config.json");
    let response = direct
        .client
        .get(&config)
        .header("range", "bytes=2-5")
        .send()
        .unwrap();
    assert_eq!(response.status(), 206);
    assert_eq!(
        header(response.headers(), "content-range"),
        format!("bytes 2-5/{}", CONFIG.len())
    );
    assert_eq!(response.bytes().unwrap().as_ref(), &CONFIG[2..=5]);
}

#[test]
fn if_none_match_gives_304() {
    let t = TestHub::start();
    let etag = format!("\"{}\"", git_sha1(CONFIG));
    let location = t.resolve_cache_path("/acme/tiny/resolve/main/config.json");
    for method in [reqwest::Method::HEAD, reqwest::Method::GET] {
        let response = t
            .client
            .request(method.clone(), t.url(&location))
            .header("if-none-match", &etag)
            .send()
            .unwrap();
        assert_eq!(response.status(), 304, "{method}");
        assert_eq!(header(response.headers(), "etag"), etag);
        assert_eq!(header(response.headers(), "x-repo-commit"), t.commits.main);
        assert!(response.bytes().unwrap().is_empty());
    }
    let stale = t
        .client
        .get(t.url(&location))
        .header(
            "if-none-match",
            "\"0000000000000000000000000000000000000000\"",
        )
        .send()
        .unwrap();
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.bytes().unwrap().as_ref(), CONFIG);

    let direct = TestHub::start_with(ServerOptions {
        regular_file_redirect: false,
        ..Default::default()
    });
    let response = direct
        .client
        .head(direct.url("/acme/tiny/resolve/main/config.json"))
        .header("if-none-match", format!("W/{etag}"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 304);
}

// ---------------------------------------------------------------------------------------------
// Renames and case (§1.10, §10)

#[test]
fn renamed_repo_redirects_relative_to_the_canonical_path() {
    let t = TestHub::start();
    for (path, expected) in [
        ("/api/models/old/tiny", "/api/models/acme/tiny"),
        (
            "/api/models/old/tiny/revision/main?blobs=true",
            "/api/models/acme/tiny/revision/main?blobs=true",
        ),
        (
            "/api/models/old/tiny/tree/main/sub%2Fdir?recursive=true",
            "/api/models/acme/tiny/tree/main/sub%2Fdir?recursive=true",
        ),
        (
            "/old/tiny/resolve/main/config.json",
            "/acme/tiny/resolve/main/config.json",
        ),
        (
            "/old/tiny/resolve/refs%2Fpr%2F1/model.safetensors",
            "/acme/tiny/resolve/refs%2Fpr%2F1/model.safetensors",
        ),
    ] {
        for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
            let response = t
                .client
                .request(method.clone(), t.url(path))
                .send()
                .unwrap();
            assert_eq!(response.status(), 307, "{method} {path}");
            assert_eq!(header(response.headers(), "location"), expected, "{path}");
        }
    }
    // A client that follows redirects lands on the canonical repo.
    let following = reqwest::blocking::Client::new();
    let info: Value = following
        .get(t.url("/api/models/old/tiny"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(info["id"], MODEL);
    assert_eq!(info["sha"], t.commits.main.as_str());
}

#[test]
fn case_insensitive_id_redirects_to_the_canonical_case() {
    let t = TestHub::start();
    for (path, expected) in [
        ("/api/models/ACME/Tiny", "/api/models/acme/tiny"),
        (
            "/api/datasets/Acme/SQuAD/tree/main",
            "/api/datasets/acme/squad/tree/main",
        ),
        (
            "/Acme/TINY/resolve/main/model.safetensors",
            "/acme/tiny/resolve/main/model.safetensors",
        ),
        (
            "/datasets/ACME/squad/resolve/main/README.md",
            "/datasets/acme/squad/resolve/main/README.md",
        ),
    ] {
        let response = t.head(path);
        assert_eq!(response.status(), 307, "{path}");
        assert_eq!(header(response.headers(), "location"), expected, "{path}");
        // The rename redirect is not the file's metadata response.
        assert!(response.headers().get("x-linked-etag").is_none());
    }
}

// ---------------------------------------------------------------------------------------------
// Live fixture changes

#[test]
fn a_branch_moved_while_serving_is_visible_to_the_next_request() {
    let t = TestHub::start();
    assert_eq!(
        t.json("/api/models/acme/tiny")["sha"],
        t.commits.main.as_str()
    );
    let fixtures = t.fixtures();
    let next = fixtures
        .commit(
            RepoType::Model,
            MODEL,
            "main",
            "update config",
            vec![
                FileChange::regular("config.json", b"{\"v\": 2}".to_vec()),
                FileChange::delete("README.md"),
            ],
        )
        .unwrap();
    assert_ne!(next, t.commits.main);
    let info = t.json("/api/models/acme/tiny");
    assert_eq!(info["sha"], next.as_str());
    assert!(!siblings(&info).contains(&"README.md".to_owned()));
    let head = t.head("/acme/tiny/resolve/main/config.json");
    assert_eq!(header(head.headers(), "x-repo-commit"), next);
    let location = header(head.headers(), "location").to_owned();
    assert_eq!(t.get(&location).bytes().unwrap().as_ref(), b"{\"v\": 2}");
    let gone = t.head("/acme/tiny/resolve/main/README.md");
    assert_eq!(header(gone.headers(), "x-repo-commit"), next);
    common::assert_hub_error(&gone, 404, Some("EntryNotFound"));
    // The old commit stays addressable, and moving the branch back is visible too.
    let old = t.head(&format!("/acme/tiny/resolve/{}/README.md", t.commits.main));
    assert_eq!(old.status(), 307);
    fixtures
        .set_branch(RepoType::Model, MODEL, "main", &t.commits.main)
        .unwrap();
    assert_eq!(
        t.json("/api/models/acme/tiny")["sha"],
        t.commits.main.as_str()
    );
}
