"""Drives the real huggingface_hub against the mock Hub (run by python_interop.rs).

usage: python_interop.py SPEC_JSON

HF_ENDPOINT, HF_HOME and HF_HUB_CACHE come from the environment; no token is configured there.
SPEC_JSON describes what the Hub serves:

    {"scratch": DIR,                       # empty directory for extra caches
     "model": REPO, "model_v1": REPO,      # acme/tiny at main and at tag v1
     "dataset": REPO,                      # acme/squad at main
     "gated": REPO,                        # acme/gated at main
     "granted_token": TOKEN, "denied_token": TOKEN}

where REPO = {"id", "type", "revision", "commit", "files": [{"path", "size", "sha256", "etag",
"lfs"}]}; "sha256" is the content hash and "etag" the blob name huggingface_hub must use (the
LFS sha256, or the git blob sha1 of a regular file).

Prints one line per check and exits non-zero (with a traceback) on the first failure.
"""
import hashlib
import json
import os
import sys


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(path: str, expected: dict) -> None:
    """A downloaded file: right size, right bytes, and a symlink into blobs/ named by its etag."""
    assert os.path.isfile(path), path
    size = os.path.getsize(path)
    assert size == expected["size"], (path, size, expected["size"])
    digest = sha256_file(path)
    assert digest == expected["sha256"], (path, digest, expected["sha256"])
    if os.name == "posix":  # the cache symlinks snapshot files to blobs/<etag>
        assert os.path.islink(path), path
        blob = os.path.realpath(path)
        assert os.path.basename(blob) == expected["etag"], (path, blob, expected["etag"])
        assert os.path.basename(os.path.dirname(blob)) == "blobs", blob


def storage_folder(cache: str, repo: dict) -> str:
    return os.path.join(cache, f"{repo['type']}s--" + repo["id"].replace("/", "--"))


def check_snapshot(folder: str, cache: str, repo: dict) -> None:
    """A snapshot folder: named by the commit, with exactly the repo's files, all correct."""
    assert os.path.basename(folder) == repo["commit"], (folder, repo["commit"])
    assert os.path.dirname(folder) == os.path.join(storage_folder(cache, repo), "snapshots"), folder
    found = set()
    for root, _dirs, files in os.walk(folder):
        for name in files:
            found.add(os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/"))
    expected = {f["path"] for f in repo["files"]}
    assert found == expected, ("snapshot files differ", sorted(found ^ expected))
    for file in repo["files"]:
        check_file(os.path.join(folder, file["path"]), file)
    ref = os.path.join(storage_folder(cache, repo), "refs", repo["revision"])
    with open(ref) as f:
        assert f.read() == repo["commit"], ref
    print(f"ok: snapshot of {repo['type']} {repo['id']}@{repo['revision']}: "
          f"{len(expected)} files at {repo['commit']}")


def file_of(repo: dict, path: str) -> dict:
    return next(f for f in repo["files"] if f["path"] == path)


def expect_error(error_type: type, call, what: str) -> None:
    try:
        result = call()
    except error_type as error:
        print(f"ok: {what}: {type(error).__name__}")
        return
    raise AssertionError(f"{what}: expected {error_type.__name__}, got {result!r}")


def main(spec_path: str) -> None:
    for variable in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        assert variable not in os.environ, f"{variable} must not be set for this test"

    from huggingface_hub import __version__, constants, get_token, hf_hub_download, snapshot_download
    from huggingface_hub.errors import GatedRepoError, RemoteEntryNotFoundError

    with open(spec_path) as f:
        spec = json.load(f)
    endpoint = os.environ["HF_ENDPOINT"].rstrip("/")
    assert constants.ENDPOINT == endpoint, (constants.ENDPOINT, endpoint)
    assert get_token() is None, "a token leaked into the test environment"
    cache = constants.HF_HUB_CACHE
    scratch = spec["scratch"]
    print(f"huggingface_hub {__version__} against {endpoint}, cache {cache}")

    # Whole repos: the LFS model (safetensors + onnx, subdirectories, a name with a space) and
    # the dataset.
    model, dataset = spec["model"], spec["dataset"]
    check_snapshot(snapshot_download(model["id"]), cache, model)
    check_snapshot(snapshot_download(dataset["id"], repo_type="dataset"), cache, dataset)

    # Single files, in a fresh cache so that they are really downloaded.
    single = os.path.join(scratch, "single")
    for path in ("config.json", "with space.txt", "onnx/model.onnx", "sub/dir/a.txt"):
        local = hf_hub_download(model["id"], path, cache_dir=single)
        assert local == os.path.join(storage_folder(single, model), "snapshots", model["commit"], path), local
        check_file(local, file_of(model, path))
        print(f"ok: hf_hub_download {model['id']} {path}")
    local = hf_hub_download(dataset["id"], "README.md", repo_type="dataset", cache_dir=single)
    check_file(local, file_of(dataset, "README.md"))
    print(f"ok: hf_hub_download dataset {dataset['id']} README.md")

    # A tag: the snapshot directory is named by the commit the tag points to, refs/v1 records it.
    v1 = spec["model_v1"]
    for path in ("model.safetensors", "config.json"):
        local = hf_hub_download(model["id"], path, revision=v1["revision"], cache_dir=single)
        snapshot_dir = os.path.dirname(local)
        assert os.path.basename(snapshot_dir) == v1["commit"], (local, v1["commit"])
        assert v1["commit"] != model["commit"]
        check_file(local, file_of(v1, path))
        print(f"ok: hf_hub_download {model['id']}@{v1['revision']} {path} -> snapshots/{v1['commit']}")
    with open(os.path.join(storage_folder(single, model), "refs", v1["revision"])) as f:
        assert f.read() == v1["commit"]
    # The same file at the commit itself resolves to the same path.
    again = hf_hub_download(model["id"], "config.json", revision=v1["commit"], cache_dir=single)
    assert again == os.path.join(os.path.dirname(local), "config.json"), again
    # A file added after v1 does not exist at v1.
    expect_error(RemoteEntryNotFoundError,
                 lambda: hf_hub_download(model["id"], "sub/c.json", revision=v1["revision"], cache_dir=single),
                 "sub/c.json at v1 is missing")

    # Gated: refused anonymously and to a user without access, served with a granted token.
    gated = spec["gated"]
    gated_cache = os.path.join(scratch, "gated")
    for path in ("config.json", "model.safetensors"):
        expect_error(GatedRepoError, lambda: hf_hub_download(gated["id"], path, cache_dir=gated_cache),
                     f"anonymous {gated['id']} {path}")
    expect_error(GatedRepoError,
                 lambda: hf_hub_download(gated["id"], "config.json", cache_dir=gated_cache,
                                         token=spec["denied_token"]),
                 f"{gated['id']} with a token that has no access")
    expect_error(GatedRepoError, lambda: snapshot_download(gated["id"], cache_dir=gated_cache),
                 f"anonymous snapshot of {gated['id']}")
    for path in ("config.json", "model.safetensors"):
        local = hf_hub_download(gated["id"], path, cache_dir=gated_cache, token=spec["granted_token"])
        check_file(local, file_of(gated, path))
        print(f"ok: hf_hub_download {gated['id']} {path} with a granted token")
    granted_cache = os.path.join(scratch, "granted")
    check_snapshot(snapshot_download(gated["id"], cache_dir=granted_cache, token=spec["granted_token"]),
                   granted_cache, gated)

    print("ok: all huggingface_hub checks passed")


if __name__ == "__main__":
    main(*sys.argv[1:])
