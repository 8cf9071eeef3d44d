//! What a user sees: stdout, stderr and exit code of each command, as inline snapshots.
//! Temp paths, ports and timings are filtered (see `TestContext::render`).

use crate::support::TestContext;

const TINY: &str =
    "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\", \"*.safetensors\"]\n";

#[test]
fn init_output() {
    let ctx = TestContext::new();
    insta::assert_snapshot!(ctx.render(&ctx.run(&["init"])), @"");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["init"])), @"");
}

#[test]
fn add_then_status_then_path_output() {
    let ctx = TestContext::new();
    insta::assert_snapshot!(ctx.render(&ctx.run(&["add", "acme/tiny", "--include", "*.json", "--no-progress"])), @"");
    insta::assert_snapshot!(ctx.read("models.toml"), @"");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["status"])), @"");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["path", "tiny"])), @"");
}

#[test]
fn lock_and_sync_output() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["lock"])), @"");
    insta::assert_snapshot!(ctx.read("models.lock"), @"");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["sync", "--dry-run"])), @"");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["sync"])), @"");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["sync"])), @"");
}

#[test]
fn error_output() {
    let ctx = TestContext::new();
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\nincludes = [\"*.json\"]\n");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["sync"])), @"");
    ctx.write_manifest("[models.tiny]\nrepo = \"acme//tiny\"\n");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["lock"])), @"");
    ctx.write_manifest("[models.x]\nrepo = \"acme/missing\"\n");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["lock"])), @"");
    ctx.write_manifest("[models.x]\nrepo = \"acme/tiny\"\nrevision = \"nope\"\n");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["lock"])), @"");
    ctx.write_manifest("[models.g]\nrepo = \"acme/gated\"\n");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["sync"])), @"");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["sync", "--locked"])), @"");
    ctx.write_manifest(TINY);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["sync", "--frozen"])), @"");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["sync", "--offline", "--json"])), @"");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["path", "nope"])), @"");
}
