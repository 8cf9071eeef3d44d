//! Air-gapped bundles: `hfdl export` packs models.lock and exactly the blobs it pins into one tar
//! file; `hfdl import` on a machine without the Hub verifies every byte against that lock before
//! anything enters its store, and `hfdl sync --frozen --offline` then links the snapshots with
//! zero requests. A damaged, cut or tampered bundle is refused, naming the entry, with nothing
//! added to the store; an export from an incomplete store writes nothing.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hfdl_mock_hub::{FileChange, RepoOptions, RepoType};

use crate::support::{TestContext, check_store, json_error_code, tree};

/// Two entries of one repo that share `config.json`, a dataset, and a second repo whose
/// `config.json` has the same bytes as acme/tiny's: one blob in the bundle, two in the store.
const MANIFEST: &str = r#"
[models.tiny]
repo = "acme/tiny"
include = ["*.json", "*.safetensors"]

[models.tiny-onnx]
repo = "acme/tiny"
include = ["config.json", "onnx/*"]

[models.twin]
repo = "acme/twin"

[models.squad]
repo = "acme/squad"
repo-type = "dataset"
"#;

/// A project synced on the connected machine, and an empty one on the air-gapped machine.
struct Machines {
    ctx: TestContext,
    /// The air-gapped machine: its project directory, Hugging Face cache and hfdl state.
    there: PathBuf,
    cache: PathBuf,
    state: PathBuf,
}

impl Machines {
    fn new() -> Machines {
        let ctx = TestContext::new();
        let fixtures = ctx.hub.fixtures();
        fixtures
            .create_repo(RepoType::Model, "acme/twin", RepoOptions::default())
            .unwrap();
        fixtures
            .commit(
                RepoType::Model,
                "acme/twin",
                "main",
                "same config",
                vec![FileChange::regular(
                    "config.json",
                    br#"{"hidden_size": 8}"#.to_vec(),
                )],
            )
            .unwrap();
        ctx.write_manifest(MANIFEST);
        let synced = ctx.run(&["sync"]);
        assert!(synced.status.success(), "{}", ctx.render(&synced));
        let there = ctx.root.path().join("air-gapped/project");
        fs_err::create_dir_all(&there).unwrap();
        Machines {
            cache: ctx.root.path().join("air-gapped/hf-cache"),
            state: ctx.root.path().join("air-gapped/hfdl-state"),
            there,
            ctx,
        }
    }

    /// `hfdl` on the air-gapped machine (the mock Hub stays reachable, to count requests).
    fn there(&self) -> Command {
        let mut command = self.ctx.hfdl();
        command
            .current_dir(&self.there)
            .env("HF_HUB_CACHE", &self.cache)
            .env("HFDL_CACHE_DIR", &self.state);
        command
    }

    fn run_there(&self, args: &[&str]) -> Output {
        self.there().args(args).output().unwrap()
    }

    /// Exports the synced project to `bundle.tar` in the temp root; its path.
    fn export(&self) -> PathBuf {
        let bundle = self.ctx.root.path().join("bundle.tar");
        let output = self.ctx.run(&["export", "-o", bundle.to_str().unwrap()]);
        assert!(output.status.success(), "{}", self.ctx.render(&output));
        bundle
    }

    /// The air-gapped store holds nothing: no repo, no blob, no staging directory.
    fn assert_store_untouched(&self) {
        let listing = if self.cache.exists() {
            tree(&self.cache)
        } else {
            String::new()
        };
        assert!(listing.is_empty(), "the store changed:\n{listing}");
        assert!(
            !self.there.join("models.lock").exists(),
            "no lock is written from a refused bundle"
        );
    }
}

/// The names of a tar file's entries, in order.
fn entry_names(bundle: &Path) -> Vec<String> {
    let file = fs_err::File::open(bundle).unwrap();
    let mut archive = tar::Archive::new(file);
    archive
        .entries()
        .unwrap()
        .map(|entry| String::from_utf8_lossy(&entry.unwrap().path_bytes()).into_owned())
        .collect()
}

/// The entries of a bundle with their bytes, in order.
fn entries(bundle: &Path) -> Vec<(String, Vec<u8>)> {
    let file = fs_err::File::open(bundle).unwrap();
    let mut archive = tar::Archive::new(file);
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

/// Writes `entries` as a tar file at `path`: the tools of someone who tampers with a bundle.
fn write_tar(path: &Path, entries: &[(String, Vec<u8>)]) {
    let mut builder = tar::Builder::new(fs_err::File::create(path).unwrap());
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // `append_data` refuses `..`; a hostile archive writes the name into the header itself.
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        builder.append(&header, bytes.as_slice()).unwrap();
    }
    builder.finish().unwrap();
}

/// The entry of the locked file `path` of acme/tiny (its sha256 or git-sha1 blob).
fn tiny_entry(ctx: &TestContext, path: &str) -> String {
    let info = ctx.tiny_file(path);
    let kind = if info.etag().len() == 64 {
        "sha256"
    } else {
        "git-sha1"
    };
    format!("blobs/{kind}/{}", info.etag())
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn export_then_import_into_a_fresh_store_syncs_offline_with_zero_requests() {
    let machines = Machines::new();
    let ctx = &machines.ctx;
    let bundle = ctx.root.path().join("bundle.tar");
    let output = ctx.run(&["--json", "export", "-o", bundle.to_str().unwrap()]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["path"], bundle.to_str().unwrap());
    assert_eq!(report["models"], 4);
    // tiny 3 + tiny-onnx 2 + twin 1 + squad 2 files; config.json is one blob for three files.
    assert_eq!(report["files"], 8);
    assert_eq!(report["blobs"], 6);
    assert_eq!(
        report["archive_bytes"],
        fs_err::metadata(&bundle).unwrap().len()
    );

    // The lock first, verbatim, then each blob once, sorted by kind and digest.
    let names = entry_names(&bundle);
    assert_eq!(names[0], "models.lock");
    assert_eq!(names.len(), 7, "{names:?}");
    let mut blobs = names[1..].to_vec();
    blobs.sort();
    assert_eq!(blobs, names[1..], "blobs are sorted");
    assert!(
        names.contains(&tiny_entry(ctx, "model.safetensors")),
        "{names:?}"
    );
    assert!(names.contains(&tiny_entry(ctx, "config.json")), "{names:?}");
    assert_eq!(
        entries(&bundle)[0].1,
        fs_err::read(ctx.project.join("models.lock")).unwrap()
    );

    // The air-gapped machine has the bundle and nothing else.
    ctx.hub.reset();
    let imported = machines.run_there(&["--json", "import", bundle.to_str().unwrap()]);
    assert!(imported.status.success(), "{}", ctx.render(&imported));
    let report: serde_json::Value = serde_json::from_slice(&imported.stdout).unwrap();
    assert_eq!(report["lock"], "written");
    assert_eq!(report["blobs"], 6);
    // config.json goes into two repos' blobs/ (acme/tiny and acme/twin).
    assert_eq!(report["added"], 7);
    assert_eq!(report["already_present"], 0);
    assert_eq!(
        fs_err::read(machines.there.join("models.lock")).unwrap(),
        fs_err::read(ctx.project.join("models.lock")).unwrap(),
        "the bundle's lock is written verbatim"
    );
    assert!(
        !tree(&machines.cache).contains("hfdl-import"),
        "no staging left:\n{}",
        tree(&machines.cache)
    );

    // gc before the sync keeps what the import put in place: the lock is known.
    let gc = machines.run_there(&["--json", "gc"]);
    assert!(gc.status.success(), "{}", ctx.render(&gc));
    let freed: serde_json::Value = serde_json::from_slice(&gc.stdout).unwrap();
    assert_eq!(freed["files"], 0, "{freed}");

    // The offline sync links what the import put in place: no request, no hashing again.
    let synced = machines.run_there(&["--json", "sync", "--frozen", "--offline"]);
    assert!(synced.status.success(), "{}", ctx.render(&synced));
    let summary: serde_json::Value = serde_json::from_slice(&synced.stdout).unwrap();
    assert_eq!(
        summary["summary"]["adopted_files"], 0,
        "imported blobs are trusted from the stat cache: {summary}"
    );
    assert_eq!(
        ctx.hub.counters().total_requests(),
        0,
        "{:?}",
        ctx.hub.requests()
    );
    let check = check_store(&machines.there.join("models.lock"), &machines.cache);
    assert!(check.complete(), "{check:?}");
    for path in ["config.json", "model.safetensors", "tokenizer.json"] {
        let commit = ctx
            .hub
            .fixtures()
            .resolve_revision(RepoType::Model, "acme/tiny", "main")
            .unwrap();
        let here = ctx
            .cache
            .join("models--acme--tiny/snapshots")
            .join(&commit)
            .join(path);
        let there = machines
            .cache
            .join("models--acme--tiny/snapshots")
            .join(&commit)
            .join(path);
        assert_eq!(
            fs_err::read(there).unwrap(),
            fs_err::read(here).unwrap(),
            "{path}"
        );
    }
    // With the project's manifest beside the lock, `verify` agrees.
    fs_err::copy(
        ctx.project.join("models.toml"),
        machines.there.join("models.toml"),
    )
    .unwrap();
    let verify = machines.run_there(&["verify", "--full", "--offline"]);
    assert!(verify.status.success(), "{}", ctx.render(&verify));

    // Importing again adds nothing and keeps the lock.
    let again = machines.run_there(&["--json", "import", bundle.to_str().unwrap()]);
    assert!(again.status.success(), "{}", ctx.render(&again));
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report["lock"], "unchanged");
    assert_eq!(report["added"], 0);
    assert_eq!(report["already_present"], 7);
    assert_eq!(ctx.hub.counters().total_requests(), 0);
}

#[test]
fn a_bundle_is_the_same_bytes_each_time_and_streams_through_a_pipe() {
    let machines = Machines::new();
    let ctx = &machines.ctx;
    let bundle = machines.export();
    let first = fs_err::read(&bundle).unwrap();
    let streamed = ctx.run(&["export", "-o", "-"]);
    assert!(streamed.status.success(), "{}", ctx.render(&streamed));
    assert!(
        first == streamed.stdout,
        "a bundle's bytes depend on the lock and the store only"
    );
    assert!(
        stderr(&streamed).contains("Exported 4 models (8 files"),
        "{}",
        ctx.render(&streamed)
    );

    let refused = ctx.run(&["--json", "export", "-o", "-"]);
    assert_eq!(refused.status.code(), Some(2), "{}", ctx.render(&refused));
    assert_eq!(json_error_code(&refused), "usage");

    let imported = TestContext::run_with_stdin(
        machines.there().args(["import", "-"]),
        // The bundle is binary; run_with_stdin takes text, so go through a file instead.
        "",
    );
    assert_eq!(imported.status.code(), Some(1), "{}", ctx.render(&imported));
    assert!(
        stderr(&imported).contains("empty"),
        "{}",
        ctx.render(&imported)
    );
    let piped = machines
        .there()
        .args(["import", "-"])
        .stdin(fs_err::File::open(&bundle).unwrap().into_parts().0)
        .output()
        .unwrap();
    assert!(piped.status.success(), "{}", ctx.render(&piped));
    let synced = machines.run_there(&["sync", "--frozen", "--offline"]);
    assert!(synced.status.success(), "{}", ctx.render(&synced));

    // A lock behind its manifest is exported as it is, with a warning.
    let mut manifest = ctx.read("models.toml");
    manifest.push_str("\n[models.later]\nrepo = \"acme/tiny\"\ninclude = [\"README.md\"]\n");
    ctx.write_manifest(&manifest);
    let stale = ctx.run(&["export", "-o", bundle.to_str().unwrap()]);
    assert!(stale.status.success(), "{}", ctx.render(&stale));
    assert!(
        stderr(&stale).contains("`later` is not locked yet; the bundle carries the lock as it is"),
        "{}",
        ctx.render(&stale)
    );
    assert_eq!(fs_err::read(&bundle).unwrap(), first);
}

#[test]
fn a_tampered_blob_is_refused_naming_the_file_and_nothing_is_added() {
    let machines = Machines::new();
    let ctx = &machines.ctx;
    let bundle = machines.export();
    let entry = tiny_entry(ctx, "model.safetensors");
    // Flip one byte in the middle of the weights' data.
    let offset = {
        let file = fs_err::File::open(&bundle).unwrap();
        let mut archive = tar::Archive::new(file);
        archive
            .entries()
            .unwrap()
            .map(Result::unwrap)
            .find(|e| String::from_utf8_lossy(&e.path_bytes()) == entry)
            .unwrap()
            .raw_file_position()
    };
    let mut bytes = fs_err::read(&bundle).unwrap();
    bytes[offset as usize + 1000] ^= 0x01;
    fs_err::write(&bundle, &bytes).unwrap();

    let output = machines.run_there(&["--json", "import", bundle.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "bundle-damaged");
    let message = String::from_utf8_lossy(&output.stdout);
    assert!(message.contains(&entry), "{message}");
    assert!(message.contains("tiny: model.safetensors"), "{message}");
    machines.assert_store_untouched();

    // The same without --json: the message and its help, for people.
    let output = machines.run_there(&["import", bundle.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is damaged"),
        "{}",
        ctx.render(&output)
    );
    assert!(
        stderr(&output).contains("sha256sum"),
        "{}",
        ctx.render(&output)
    );
    machines.assert_store_untouched();
}

#[test]
fn extra_unsafe_or_misplaced_entries_are_refused_and_nothing_is_added() {
    let machines = Machines::new();
    let ctx = &machines.ctx;
    let original = entries(&machines.export());
    let tampered = ctx.root.path().join("tampered.tar");
    let refuse = |entries: &[(String, Vec<u8>)], code: &str, needle: &str| {
        write_tar(&tampered, entries);
        let output = machines.run_there(&["--json", "import", tampered.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
        assert_eq!(json_error_code(&output), code, "{}", ctx.render(&output));
        let message = String::from_utf8_lossy(&output.stdout);
        assert!(message.contains(needle), "{needle}: {message}");
        machines.assert_store_untouched();
    };

    let with = |extra: (&str, &[u8])| {
        let mut entries = original.clone();
        entries.push((extra.0.to_owned(), extra.1.to_vec()));
        entries
    };
    // A file the lock does not pin, at the end (after every good blob was staged).
    refuse(&with(("README.md", b"hi")), "bundle-invalid", "`README.md`");
    let unpinned = format!("blobs/sha256/{}", "0".repeat(64));
    refuse(&with((&unpinned, b"x")), "bundle-invalid", "is not pinned");
    // Path traversal, however it is spelled.
    refuse(&with(("../escape", b"x")), "bundle-invalid", "unsafe name");
    refuse(
        &with(("blobs/../../x", b"x")),
        "bundle-invalid",
        "unsafe name",
    );
    refuse(
        &with(("/etc/cron.d/x", b"x")),
        "bundle-invalid",
        "unsafe name",
    );
    // The same blob twice.
    let twice = original[1].clone();
    refuse(
        &with((&twice.0, &twice.1)),
        "bundle-invalid",
        "appears twice",
    );
    // The lock not first.
    let mut swapped = original.clone();
    swapped.swap(0, 1);
    refuse(&swapped, "bundle-invalid", "first entry");
    // A blob missing (the archive ends cleanly, one entry short).
    refuse(
        &original[..original.len() - 1],
        "bundle-damaged",
        "lacks 1 file",
    );
    // A blob with bytes of another size than the lock pins.
    let mut resized = original.clone();
    resized[1].1.push(b'!');
    refuse(&resized, "bundle-damaged", "bytes, the lock pins");
    // A lock whose file path would leave the store when sync links it.
    let mut hostile = original.clone();
    let lock = String::from_utf8(hostile[0].1.clone()).unwrap();
    hostile[0].1 = lock
        .replace(
            "path = \"config.json\"",
            "path = \"../../../../config.json\"",
        )
        .into_bytes();
    // models.lock itself refuses the path (as any lock read from disk does).
    refuse(
        &hostile,
        "bundle-invalid",
        "`../../../../config.json` has an empty, `.` or `..` segment",
    );
}

#[test]
fn a_cut_or_compressed_bundle_is_refused() {
    let machines = Machines::new();
    let ctx = &machines.ctx;
    let bundle = machines.export();
    let bytes = fs_err::read(&bundle).unwrap();
    let cut = ctx.root.path().join("cut.tar");
    // Cut inside the largest blob's data.
    fs_err::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let output = machines.run_there(&["--json", "import", cut.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "bundle-damaged");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("cut short"),
        "{}",
        ctx.render(&output)
    );
    machines.assert_store_untouched();

    for (name, head) in [
        ("gzip", &[0x1f, 0x8b, 8, 0][..]),
        ("not a tar", b"hello world"),
    ] {
        let odd = ctx.root.path().join("odd.tar");
        let mut odd_bytes = head.to_vec();
        odd_bytes.resize(4096, 7);
        fs_err::write(&odd, &odd_bytes).unwrap();
        let output = machines.run_there(&["--json", "import", odd.to_str().unwrap()]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{name}: {}",
            ctx.render(&output)
        );
        assert_eq!(json_error_code(&output), "bundle-invalid", "{name}");
        machines.assert_store_untouched();
    }
}

#[test]
fn export_from_an_incomplete_store_fails_clearly_and_writes_nothing() {
    let machines = Machines::new();
    let ctx = &machines.ctx;
    let out = ctx.root.path().join("out");
    let bundle = out.join("models.tar");
    let info = ctx.tiny_file("model.safetensors");
    let blob = ctx.cache.join("models--acme--tiny/blobs").join(info.etag());

    // Missing.
    let saved = fs_err::read(&blob).unwrap();
    fs_err::remove_file(&blob).unwrap();
    let output = ctx.run(&["--json", "export", "-o", bundle.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "export-incomplete");
    let message = String::from_utf8_lossy(&output.stdout);
    assert!(
        message.contains("tiny: model.safetensors is missing"),
        "{message}"
    );
    assert!(message.contains("hfdl sync"), "{message}");
    assert!(
        !out.exists() || fs_err::read_dir(&out).unwrap().next().is_none(),
        "no bundle and no temp file: {}",
        tree(&out)
    );
    // Nothing on stdout either when streaming: the store is checked before the first byte.
    let streamed = ctx.run(&["export", "-o", "-"]);
    assert_eq!(streamed.status.code(), Some(1), "{}", ctx.render(&streamed));
    assert!(streamed.stdout.is_empty());
    assert!(
        stderr(&streamed).contains("hfdl sync"),
        "{}",
        ctx.render(&streamed)
    );

    // Damaged (the right size, one byte changed): found while it is hashed, the partial
    // bundle is removed.
    let mut damaged = saved.clone();
    damaged[100] ^= 0xff;
    fs_err::write(&blob, &damaged).unwrap();
    let output = ctx.run(&["--json", "export", "-o", bundle.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "export-incomplete");
    let message = String::from_utf8_lossy(&output.stdout);
    assert!(
        message.contains("tiny: model.safetensors is damaged"),
        "{message}"
    );
    assert!(
        fs_err::read_dir(&out).unwrap().next().is_none(),
        "no bundle and no temp file: {}",
        tree(&out)
    );
    // Streamed, the failed export leaves a stream that no import takes for a bundle.
    let streamed = ctx.run(&["export", "-o", "-"]);
    assert_eq!(streamed.status.code(), Some(1), "{}", ctx.render(&streamed));
    let partial = ctx.root.path().join("partial.tar");
    fs_err::write(&partial, &streamed.stdout).unwrap();
    let refused = machines.run_there(&["import", partial.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1), "{}", ctx.render(&refused));
    machines.assert_store_untouched();
    // An existing bundle is not replaced by a failed export.
    fs_err::write(&bundle, b"previous").unwrap();
    let output = ctx.run(&["export", "-o", bundle.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(fs_err::read(&bundle).unwrap(), b"previous");
    assert_eq!(tree(&out), "models.tar");

    // A sync repairs the store; then the export works.
    assert!(ctx.run(&["sync"]).status.success());
    let output = ctx.run(&["export", "-o", bundle.to_str().unwrap()]);
    assert!(output.status.success(), "{}", ctx.render(&output));

    // No lock, nothing to export.
    fs_err::remove_file(ctx.project.join("models.lock")).unwrap();
    let output = ctx.run(&["--json", "export", "-o", bundle.to_str().unwrap()]);
    assert_eq!(
        json_error_code(&output),
        "lock-missing",
        "{}",
        ctx.render(&output)
    );
}

#[test]
fn an_import_keeps_a_different_project_lock_and_names_what_the_bundle_lacks() {
    let machines = Machines::new();
    let ctx = &machines.ctx;
    let bundle = machines.export();
    // The air-gapped project pins an entry the bundle does not have.
    fs_err::write(
        machines.there.join("models.toml"),
        "[models.other]\nrepo = \"acme/tiny\"\ninclude = [\"onnx/*\", \"README.md\"]\n",
    )
    .unwrap();
    let locked = machines.there().args(["lock"]).output().unwrap();
    assert!(locked.status.success(), "{}", ctx.render(&locked));
    let before = fs_err::read(machines.there.join("models.lock")).unwrap();

    let output = machines.run_there(&["--json", "import", bundle.to_str().unwrap()]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["lock"], "kept");
    // onnx/model.onnx is in the bundle (tiny-onnx); README.md of acme/tiny is not.
    assert_eq!(report["uncovered"], serde_json::json!(["other: README.md"]));
    assert_eq!(
        fs_err::read(machines.there.join("models.lock")).unwrap(),
        before
    );
    let output = machines.run_there(&["import", bundle.to_str().unwrap()]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert!(
        stderr(&output).contains("differs from the bundle's lock and was kept")
            && stderr(&output).contains("other: README.md"),
        "{}",
        ctx.render(&output)
    );
}

#[test]
fn a_cancelled_export_or_import_leaves_no_output_and_nothing_in_the_store() {
    use hfdl::ops::bundle::{ExportOptions, ImportOptions};
    use hfdl::ops::{CancellationToken, OpenOptions, Project};

    let machines = Machines::new();
    let ctx = &machines.ctx;
    let bundle = machines.export();
    let open = |manifest: &Path, cache: &Path, state: &Path| {
        let env = hfdl::env::Env::from_pairs(
            [
                ("HF_ENDPOINT", ctx.hub.endpoint().as_str()),
                ("HF_HUB_CACHE", cache.to_str().unwrap()),
                ("HFDL_CACHE_DIR", state.to_str().unwrap()),
                ("HFDL_KEYRING", "none"),
            ],
            None,
        );
        Project::open_optional(OpenOptions {
            manifest: Some(manifest.to_path_buf()),
            env,
            ..OpenOptions::default()
        })
        .unwrap()
    };
    let cancel = CancellationToken::new();
    cancel.cancel();

    let here = open(&ctx.project.join("models.toml"), &ctx.cache, &ctx.state);
    let output = ctx.root.path().join("out/cancelled.tar");
    let error = here
        .export(
            &output,
            &ExportOptions {
                cancel: Some(cancel.clone()),
            },
            &hfdl::report::Silent,
        )
        .unwrap_err();
    assert_eq!(error.error_code(), "cancelled", "{error}");
    assert_eq!(
        tree(&ctx.root.path().join("out")),
        "",
        "no bundle, no temp file"
    );

    let there = open(
        &machines.there.join("models.toml"),
        &machines.cache,
        &machines.state,
    );
    let error = there
        .import(
            &bundle,
            &ImportOptions {
                cancel: Some(cancel),
            },
            &hfdl::report::Silent,
        )
        .unwrap_err();
    assert_eq!(error.error_code(), "cancelled", "{error}");
    machines.assert_store_untouched();

    // Not cancelled, the library reports what the CLI prints.
    let report = there
        .import(&bundle, &ImportOptions::default(), &hfdl::report::Silent)
        .unwrap();
    assert_eq!((report.blobs, report.added), (6, 7));
}
