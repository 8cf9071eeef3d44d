//! `StaticServer` (`hfdl-mock-hub static --dir DIR`), the benchmark's baseline: files under the
//! directory by path, with their length, `HEAD` too; nothing outside the directory.

mod common;

use common::sha256_hex;
use hfdl_mock_hub::StaticServer;

#[test]
fn serves_the_files_of_a_directory_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    fs_err::create_dir_all(root.join("sub dir")).unwrap();
    let small = b"{\"small\": true}\n".to_vec();
    // Several read chunks, and not a multiple of any of them.
    let large: Vec<u8> = (0..3_000_017_u32).map(|i| (i * 7 % 251) as u8).collect();
    fs_err::write(root.join("sub dir/small.json"), &small).unwrap();
    fs_err::write(root.join("large.bin"), &large).unwrap();
    fs_err::write(dir.path().join("outside.txt"), b"secret").unwrap();

    let server = StaticServer::start(&root, 0).unwrap();
    let client = common::client();
    let url = |path: &str| format!("{}{path}", server.endpoint());

    let response = client.get(url("/sub%20dir/small.json")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-length"],
        small.len().to_string().as_str()
    );
    assert_eq!(response.bytes().unwrap().as_ref(), small.as_slice());

    let response = client.get(url("/large.bin")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(sha256_hex(&response.bytes().unwrap()), sha256_hex(&large));

    let head = client.head(url("/large.bin")).send().unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"],
        large.len().to_string().as_str()
    );

    for missing in [
        "/nope",
        "/sub%20dir",
        "/../outside.txt",
        "/sub%20dir/%2E%2E/%2E%2E/outside.txt",
    ] {
        let response = client.get(url(missing)).send().unwrap();
        assert_eq!(response.status(), 404, "{missing}");
    }
    let response = client.post(url("/large.bin")).send().unwrap();
    assert_eq!(response.status(), 405);
}
