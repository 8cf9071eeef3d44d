//! Embedding hfdl: a Rust program (say, an inference server) that keeps its models pinned and
//! synced through the library's public API, with no `hfdl` process and no terminal.
//!
//! It starts the bundled mock Hub on 127.0.0.1 with one small repo, writes a project
//! (`models.toml`) in a temporary directory, then:
//!
//! 1. locks it ([`Project::lock`]) and syncs the lock ([`Project::sync`]), following progress
//!    through a channel ([`ChannelReporter`]);
//! 2. syncs again: nothing to do, and the Hub sees no request;
//! 3. shows what `status` says, and where the snapshot is for `from_pretrained`.
//!
//! Run it with `cargo run --example embed`; CI runs it (`scripts/test`).

// A program of its own: printing what it did is its job.
#![allow(clippy::print_stdout)]

use std::error::Error;

use hfdl::env::Env;
use hfdl::ops::lock::LockOptions;
use hfdl::ops::path::PathOptions;
use hfdl::ops::{OpenOptions, Project, SyncOptions};
use hfdl::report::{ChannelReporter, Event};
use hfdl_mock_hub::{FileChange, Fixtures, MockHub, RepoOptions, RepoType};

fn main() -> Result<(), Box<dyn Error>> {
    let work = tempfile::tempdir()?;
    // The mock Hub runs its own runtime on its own threads: start it before the program's.
    let hub = start_hub(&work.path().join("fixtures"))?;
    tokio::runtime::Runtime::new()?.block_on(embed(&hub, work.path()))
}

/// What the embedding program does with the Hub at `hub`, in the directory `work`.
async fn embed(hub: &MockHub, work: &std::path::Path) -> Result<(), Box<dyn Error>> {
    // The program's own project: which models it wants, committed next to its code.
    let project_dir = work.join("project");
    fs_err::create_dir_all(&project_dir)?;
    fs_err::write(
        project_dir.join("models.toml"),
        "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\", \"*.safetensors\"]\n",
    )?;

    // Settings come from the variables handed over, never from the process environment: here
    // the mock Hub, and a cache and state directory of the example's own.
    let cache = work.join("cache");
    let state = work.join("state");
    let env = Env::from_pairs(
        [
            ("HF_ENDPOINT", hub.endpoint().as_str()),
            ("HF_HUB_CACHE", path_str(&cache)?),
            ("HFDL_CACHE_DIR", path_str(&state)?),
        ],
        None,
    );
    let project = Project::open(OpenOptions {
        manifest: Some(project_dir.join("models.toml")),
        env,
        ..OpenOptions::default()
    })?;

    // Progress arrives as events; this program logs the finished files.
    let (reporter, mut events) = ChannelReporter::new();
    let progress = tokio::spawn(async move {
        let mut finished = 0;
        while let Some(event) = events.recv().await {
            match event {
                Event::Resolved { name, commit, .. } => println!("resolved {name} at {commit}"),
                Event::TaskFinished { ok: true, .. } => finished += 1,
                Event::Warning { message } => println!("warning: {message}"),
                _ => {}
            }
        }
        finished
    });

    let lock = project.lock(&LockOptions::default(), &reporter).await?;
    println!("lock written: {} ({})", lock.written, lock.lock.display());
    let synced = project.sync(&SyncOptions::locked(), &reporter).await?;
    println!(
        "synced: {} files, {} bytes downloaded",
        synced.summary.files_total, synced.summary.downloaded_bytes
    );

    let before = hub.counters();
    let again = project.sync(&SyncOptions::locked(), &reporter).await?;
    let after = hub.counters();
    let requests = (after.api + after.resolve_get + after.resolve_head + after.cdn)
        - (before.api + before.resolve_get + before.resolve_head + before.cdn);
    println!(
        "second sync: already in sync = {}, requests seen by the Hub = {requests}",
        again.already_in_sync
    );

    for model in project.status()?.models {
        println!(
            "status: {} is {:?}, {}/{} files",
            model.name, model.state, model.files_present, model.files
        );
    }
    let path = project.path(&PathOptions {
        name: "tiny".into(),
    })?;
    println!("from_pretrained(\"{}\")", path.path.display());

    drop(reporter);
    let finished = progress.await?;
    println!("{finished} transfers finished");
    if !again.already_in_sync || requests != 0 || synced.summary.downloaded_files == 0 {
        return Err("the second sync should have had nothing to do".into());
    }
    Ok(())
}

/// The mock Hub with one model repo: two JSON files and a weights file.
fn start_hub(dir: &std::path::Path) -> Result<MockHub, Box<dyn Error>> {
    let fixtures = Fixtures::create(dir)?;
    fixtures.create_repo(RepoType::Model, "acme/tiny", RepoOptions::default())?;
    fixtures.commit(
        RepoType::Model,
        "acme/tiny",
        "main",
        "initial",
        vec![
            FileChange::regular("config.json", br#"{"hidden_size": 8}"#.to_vec()),
            FileChange::regular("tokenizer.json", br#"{"vocab": ["a", "b"]}"#.to_vec()),
            FileChange::generated("model.safetensors", 300_000, 1),
        ],
    )?;
    Ok(MockHub::start(fixtures)?)
}

fn path_str(path: &std::path::Path) -> Result<&str, Box<dyn Error>> {
    path.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", path.display()).into())
}
