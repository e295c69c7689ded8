//! Commands that only read results never create a database: a mistyped `--db` or `PIXELCNN_DB`
//! is an error naming the path, and no file (nor its folder) appears.

mod common;

use common::{pixelcnn, text};

#[test]
fn read_only_commands_refuse_a_missing_database_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo").join("resluts.db");
    let db = missing.to_str().unwrap();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("runs", vec!["runs", "--db", db]),
        ("show", vec!["show", "abcdef", "--db", db]),
        ("metrics", vec!["metrics", "--db", db]),
        ("report", vec!["report", "levels", "--db", db, "--out", "unused"]),
        ("compare", vec!["compare", "abc", "def", "--db", db]),
        ("rerun", vec!["rerun", "abcdef", "--db", db]),
        ("export", vec!["export", "abcdef", "--out", "unused", "--db", db]),
        ("gc --dry-run", vec!["gc", "--dry-run", "--db", db]),
        ("store copy (source)", vec!["store", "copy", db, "elsewhere.db"]),
    ];
    for (case, args) in cases {
        let out = pixelcnn().current_dir(dir.path()).args(&args).output().unwrap();
        let said = text(&out);
        assert!(!out.status.success(), "{case}: a missing database is an error:\n{said}");
        assert!(
            said.contains(db) && said.contains("does not exist"),
            "{case}: the error names {db}:\n{said}"
        );
        assert!(!missing.exists() && !missing.parent().unwrap().exists(), "{case}: created the database");
    }
    // The same through PIXELCNN_DB.
    let out = pixelcnn().current_dir(dir.path()).env("PIXELCNN_DB", db).arg("runs").output().unwrap();
    assert!(!out.status.success() && text(&out).contains(db), "{}", text(&out));
    assert!(!missing.exists(), "runs with PIXELCNN_DB created the database");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "nothing written where the commands ran: {left:?}");
}

/// `pixelcnn plan FILE | head -1`: once the reader has gone, a listing command ends by SIGPIPE as
/// Unix tools do, instead of panicking on its next `println!` ("failed printing to stdout").
#[cfg(unix)]
#[test]
fn listings_end_quietly_when_their_reader_closes_the_pipe() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    const SIGPIPE: i32 = 13;
    let experiment = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/levels.toml");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("absent.db");
    let cases: Vec<(&str, Vec<&str>)> =
        vec![("plan", vec!["plan", experiment, "--db", db.to_str().unwrap()]), ("doctor", vec!["doctor"])];
    for (case, args) in cases {
        let mut child = pixelcnn().args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        // The reader goes before the command has printed anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{case}: panicked on the closed pipe:\n{stderr}");
        assert_eq!(out.status.signal(), Some(SIGPIPE), "{case}: {:?}\n{stderr}", out.status);
    }
}
