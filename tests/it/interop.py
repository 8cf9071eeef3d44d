"""Checks a Hugging Face cache with the real huggingface_hub, offline, or fills one online.

usage: interop.py check CACHE SPEC_JSON   -- every file is found offline with the right bytes
       interop.py fill CACHE REPO_ID TYPE -- snapshot_download into CACHE (online)
"""
import hashlib
import json
import os
import sys


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def check(cache: str, spec_path: str) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    from huggingface_hub import hf_hub_download, scan_cache_dir, snapshot_download, try_to_load_from_cache

    with open(spec_path) as f:
        spec = json.load(f)
    for repo in spec["repos"]:
        for revision in (repo["revision"], repo["commit"]):
            for file in repo["files"]:
                path = hf_hub_download(repo["id"], file["path"], repo_type=repo["type"], revision=revision,
                                       cache_dir=cache, local_files_only=True)
                data = open(path, "rb").read()
                assert len(data) == file["size"], (path, len(data), file["size"])
                digest = hashlib.sha256(data).hexdigest() if "sha256" in file else git_sha1(data)
                assert digest == file.get("sha256", file.get("git_sha1")), (path, digest)
                assert try_to_load_from_cache(repo["id"], file["path"], cache_dir=cache, revision=revision,
                                              repo_type=repo["type"]) == path
        folder = snapshot_download(repo["id"], repo_type=repo["type"], revision=repo["revision"], cache_dir=cache,
                                   local_files_only=True)
        assert folder.endswith(repo["commit"]), folder
    info = scan_cache_dir(cache)
    assert not info.warnings, [str(w) for w in info.warnings]
    found = {(r.repo_id, r.repo_type): r for r in info.repos}
    for repo in spec["repos"]:
        cached = found[(repo["id"], repo["type"])]
        revisions = {r.commit_hash: r for r in cached.revisions}
        assert repo["commit"] in revisions, revisions.keys()
        assert len(revisions[repo["commit"]].files) >= len(repo["files"])
        if repo["revision"] != repo["commit"]:
            assert repo["revision"] in revisions[repo["commit"]].refs
    print("ok: huggingface_hub found every file offline; scan_cache_dir has no warnings")


def fill(cache: str, repo_id: str, repo_type: str) -> None:
    from huggingface_hub import snapshot_download

    print(snapshot_download(repo_id, repo_type=repo_type, cache_dir=cache))


if __name__ == "__main__":
    {"check": check, "fill": fill}[sys.argv[1]](*sys.argv[2:])
