//! The source tree a run was made with: commit, whether it had uncommitted changes, and a hash of
//! those changes, so a number can be traced to code.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::process::Command;

/// Git facts of the current directory's repository (all `None` outside one or without git).
#[derive(Debug, Clone, Default, Serialize)]
pub struct GitState {
    /// `HEAD` commit.
    pub commit: Option<String>,
    /// Uncommitted changes to tracked files, or untracked files.
    pub dirty: Option<bool>,
    /// SHA-256 of `git diff HEAD`, when dirty.
    pub diff_sha256: Option<String>,
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

impl GitState {
    /// Reads the state of the repository around the working directory.
    pub fn current() -> Self {
        let Some(commit) = git(&["rev-parse", "HEAD"]) else { return Self::default() };
        let status = git(&["status", "--porcelain"]).unwrap_or_default();
        let dirty = !status.trim().is_empty();
        let diff_sha256 = dirty
            .then(|| git(&["diff", "HEAD"]).map(|d| hex::encode(Sha256::digest(d.as_bytes()))))
            .flatten();
        Self { commit: Some(commit.trim().to_owned()), dirty: Some(dirty), diff_sha256 }
    }
}
