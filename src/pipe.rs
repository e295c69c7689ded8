//! `pixelcnn runs | head`: Rust ignores SIGPIPE, so once the reader is gone every `println!`
//! fails and panics ("failed printing to stdout: Broken pipe"). Commands whose only product is
//! their standard output take the usual Unix behaviour instead: they end quietly with the pipe.
//! Commands that train, serve or write the store keep ignoring it, so that a closed terminal or
//! pager never stops a run half-way through an epoch or a transaction.

/// Makes a write to a closed pipe end the process silently, as `head`, `less` and `grep -q`
/// expect of the command before them.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn end_quietly_when_the_reader_goes() {
    // SAFETY: restoring a signal's default disposition installs no handler and touches no
    // memory; it is called at the start of `main`, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Elsewhere a broken pipe is an error, not a signal: nothing to change.
#[cfg(not(unix))]
pub fn end_quietly_when_the_reader_goes() {}
