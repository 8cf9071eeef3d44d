//! The mock Hub's search listings (`/api/models`, `/api/datasets`, `/api/spaces`) and the card
//! metadata of repo info, as huggingface_hub's `list_models` and `model_info` read them:
//! `search`, `author`, `filter`, `sort`/`direction`, `limit` with `Link: rel="next"` pages,
//! `expand`, and `cardData` and tags from README.md front matter.

mod common;

use common::{ALICE, GATED, MODEL, PRIVATE, TestHub, header, maybe_header};
use hfdl_mock_hub::{FileChange, RepoMeta, RepoType, ServerOptions};
use serde_json::{Value, json};

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect()
}

/// Counters and a card on the standard repos.
fn with_metadata(t: &TestHub) {
    let fixtures = t.fixtures();
    fixtures
        .set_meta(
            RepoType::Model,
            MODEL,
            RepoMeta {
                downloads: 50,
                likes: 3,
                tags: vec!["safetensors".into()],
                library_name: Some("transformers".into()),
                ..RepoMeta::default()
            },
        )
        .unwrap();
    fixtures
        .set_meta(
            RepoType::Model,
            GATED,
            RepoMeta {
                downloads: 900,
                likes: 1,
                ..RepoMeta::default()
            },
        )
        .unwrap();
    fixtures
        .commit(
            RepoType::Model,
            MODEL,
            "main",
            "card",
            vec![FileChange::regular(
                "README.md",
                b"---\nlicense: mit\ntags: [tiny, test]\npipeline_tag: fill-mask\nlanguage: en\n---\n# tiny\n"
                    .to_vec(),
            )],
        )
        .unwrap();
}

#[test]
fn search_matches_a_substring_of_the_id_in_any_case() {
    let t = TestHub::start();
    assert_eq!(ids(&t.json("/api/models?search=TIN")), [MODEL]);
    assert_eq!(ids(&t.json("/api/models?search=acme")), [GATED, MODEL]);
    assert_eq!(ids(&t.json("/api/datasets?search=squad")), ["acme/squad"]);
    assert!(ids(&t.json("/api/spaces")).is_empty());
    assert!(ids(&t.json("/api/models?search=nothing-like-this")).is_empty());
    // Several values must all match (huggingface_hub sends `model_name` and `search` so).
    assert_eq!(ids(&t.json("/api/models?search=acme&search=gat")), [GATED]);
}

#[test]
fn private_repos_are_listed_only_for_their_owner() {
    let t = TestHub::start();
    assert!(!ids(&t.json("/api/models")).contains(&PRIVATE));
    let owned: Value = t
        .get_auth("/api/models?author=alice", ALICE)
        .json()
        .unwrap();
    assert_eq!(ids(&owned), [PRIVATE]);
}

#[test]
fn author_and_filter_narrow_the_listing() {
    let t = TestHub::start();
    with_metadata(&t);
    assert_eq!(ids(&t.json("/api/models?author=ACME")), [GATED, MODEL]);
    assert!(ids(&t.json("/api/models?author=alice")).is_empty());
    // Tags come from the fixture and from the card (license, tags, language, pipeline, library).
    for filter in [
        "license:mit",
        "tiny",
        "en",
        "fill-mask",
        "transformers",
        "safetensors",
    ] {
        assert_eq!(
            ids(&t.json(&format!("/api/models?filter={filter}"))),
            [MODEL],
            "{filter}"
        );
    }
    assert_eq!(ids(&t.json("/api/models?filter=tiny&filter=en")), [MODEL]);
    assert_eq!(ids(&t.json("/api/models?filter=tiny,en")), [MODEL]);
    assert!(ids(&t.json("/api/models?filter=tiny&filter=apache")).is_empty());
    assert_eq!(ids(&t.json("/api/models?gated=true")), [GATED]);
    assert_eq!(ids(&t.json("/api/models?pipeline_tag=fill-mask")), [MODEL]);
}

#[test]
fn sort_is_descending_unless_direction_says_otherwise() {
    let t = TestHub::start();
    with_metadata(&t);
    assert_eq!(ids(&t.json("/api/models?sort=downloads")), [GATED, MODEL]);
    assert_eq!(
        ids(&t.json("/api/models?sort=downloads&direction=-1")),
        [GATED, MODEL]
    );
    assert_eq!(ids(&t.json("/api/models?sort=likes")), [MODEL, GATED]);
    assert_eq!(
        ids(&t.json("/api/models?sort=downloads&direction=1")),
        [MODEL, GATED]
    );
    // The card commit made acme/tiny the most recently modified.
    assert_eq!(
        ids(&t.json("/api/models?sort=lastModified")),
        [MODEL, GATED]
    );
    let bad = t.get("/api/models?sort=stars");
    assert_eq!(bad.status(), 400);
}

#[test]
fn expand_picks_the_fields_and_unknown_ones_are_refused() {
    let t = TestHub::start();
    with_metadata(&t);
    let list = t.json(
        "/api/models?search=tiny&expand=downloads&expand=likes&expand=gated&expand=lastModified&expand=tags",
    );
    let item = &list[0];
    let mut keys: Vec<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "_id",
            "downloads",
            "gated",
            "id",
            "lastModified",
            "likes",
            "tags"
        ]
    );
    assert_eq!(item["downloads"], 50);
    assert_eq!(item["gated"], false);
    assert!(
        item["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("license:mit"))
    );
    // `expand[]=` is accepted too.
    let list = t.json("/api/models?search=gated&expand[]=gated");
    assert_eq!(list[0]["gated"], "manual");
    // Spaces have no download count: asking for it is a 400, as on the Hub.
    assert_eq!(t.get("/api/spaces?expand=downloads").status(), 400);
    // Without expand, the listing's default fields.
    let plain = t.json("/api/models?search=tiny");
    assert!(plain[0].get("downloads").is_some() && plain[0].get("lastModified").is_none());
    let full = t.json("/api/models?search=tiny&full=true");
    assert!(full[0].get("siblings").is_some() && full[0].get("cardData").is_some());
}

#[test]
fn limit_pages_with_absolute_next_links() {
    let t = TestHub::start_with(ServerOptions {
        page_size: 2,
        ..ServerOptions::default()
    });
    for n in 0..3 {
        let id = format!("zoo/m{n}");
        t.fixtures()
            .create_repo(RepoType::Model, &id, hfdl_mock_hub::RepoOptions::default())
            .unwrap();
    }
    // The page size is the smaller of `limit` and the server's.
    let first = t.get("/api/models?search=zoo&limit=1");
    let link = header(first.headers(), "link").to_owned();
    assert!(
        link.starts_with(&format!("<{}/api/models?", t.hub.endpoint()))
            && link.ends_with("cursor=1>; rel=\"next\""),
        "{link}"
    );
    assert_eq!(ids(&first.json().unwrap()), ["zoo/m0"]);
    let mut seen = Vec::new();
    let mut url = t.url("/api/models?search=zoo");
    loop {
        let page = t.client.get(&url).send().unwrap();
        let next = maybe_header(page.headers(), "link").map(|l| {
            l.trim_start_matches('<')
                .split_once('>')
                .unwrap()
                .0
                .to_owned()
        });
        let list: Value = page.json().unwrap();
        assert!(list.as_array().unwrap().len() <= 2);
        seen.extend(ids(&list).into_iter().map(str::to_owned));
        match next {
            Some(next) => url = next,
            None => break,
        }
    }
    assert_eq!(seen, ["zoo/m0", "zoo/m1", "zoo/m2"]);
    assert_eq!(t.get("/api/models?limit=0").status(), 400);
}

#[test]
fn repo_info_carries_the_card_and_what_the_hub_derives_from_it() {
    let t = TestHub::start();
    with_metadata(&t);
    let info = t.json("/api/models/acme/tiny");
    assert_eq!(
        info["cardData"],
        json!({"license": "mit", "tags": ["tiny", "test"], "pipeline_tag": "fill-mask", "language": "en"})
    );
    assert_eq!(info["pipeline_tag"], "fill-mask");
    assert_eq!(info["library_name"], "transformers");
    assert_eq!(info["downloads"], 50);
    assert_eq!(info["likes"], 3);
    assert_eq!(
        info["tags"],
        json!([
            "safetensors",
            "transformers",
            "fill-mask",
            "tiny",
            "test",
            "en",
            "license:mit"
        ])
    );
    // At an older revision, the README of that commit: no front matter, no cardData.
    let v1 = t.json("/api/models/acme/tiny/revision/v1");
    assert!(v1.get("cardData").is_none(), "{v1}");
    // Broken YAML: the Hub has no metadata to serve.
    t.fixtures()
        .commit(
            RepoType::Model,
            MODEL,
            "main",
            "broken card",
            vec![FileChange::regular(
                "README.md",
                b"---\nlicense: mit\ntags: [a, b\n---\n".to_vec(),
            )],
        )
        .unwrap();
    let broken = t.json("/api/models/acme/tiny");
    assert!(broken.get("cardData").is_none(), "{broken}");
    assert_eq!(broken["tags"], json!(["safetensors", "transformers"]));
}
