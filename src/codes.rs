//! Exit codes and the stable error codes of `--json` errors (design.md, Exit codes): the leaf
//! every layer's error type uses, so no layer needs the top-level error to say how it ends.

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: the action failed for a reason the user can act on.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code: usage or manifest error.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: network or Hub failure after retries.
pub const EXIT_NETWORK: i32 = 3;
/// Exit code: authentication or gated access.
pub const EXIT_AUTH: i32 = 4;
/// Exit code: internal bug.
pub const EXIT_BUG: i32 = 101;
/// Exit code: stopped cleanly by SIGINT (Ctrl-C), 128 + 2 as shells report a death by it.
pub const EXIT_SIGINT: i32 = 130;
/// Exit code: stopped cleanly by SIGTERM (`docker stop`, a pod's eviction), 128 + 15.
pub const EXIT_SIGTERM: i32 = 143;

/// An error with a stable machine code (the `code` of a `--json` error, e.g. `hash-mismatch`)
/// and the process exit code it ends a command with.
pub trait ErrorCode {
    /// The stable machine code.
    fn error_code(&self) -> &'static str;
    /// The process exit code.
    fn exit_code(&self) -> i32;
}

/// `ENOSPC`: the disk is full (an I/O error that gets the `disk-full` code).
pub fn is_disk_full(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::StorageFull || error.raw_os_error() == Some(28)
}

/// `error` and its causes on one line, each cause once (a cause often repeats its wrapper's
/// text).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
