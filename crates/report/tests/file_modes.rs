//! A written report has ordinary file modes: files 0666 and folders 0777, less the umask (0644
//! and 0755 usually), not the private 0600 of the temporary files they are written through.

#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{claim, epoch, new_run};
use pixelcnn_record::{ArtefactKind, RunStatus};
use pixelcnn_report::{ExperimentData, Report};
use pixelcnn_store::{ArtefactContent, NewArtefact, Store, url_from_path};
use serde_json::json;

/// The process umask (Linux reports it in /proc; elsewhere assume the usual 022).
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Umask:"))?;
            u32::from_str_radix(line["Umask:".len()..].trim(), 8).ok()
        })
        .unwrap_or(0o022)
}

/// The permission bits of `path`, in octal.
fn mode(path: &Path) -> String {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    format!("{:03o}", meta.permissions().mode() & 0o777)
}

#[tokio::test]
async fn report_files_and_folders_have_ordinary_modes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&url_from_path(&dir.path().join("results.db"))).await.unwrap();
    let experiment_id = store.record_experiment("modes", "file modes").await.unwrap();
    let config = json!({"seed": 1, "model": {"levels": 2}, "train": {"epochs": 2}});
    let lease =
        claim(&store, new_run(&experiment_id, "h", config, json!({"model.levels": 2, "seed": 1}), 2)).await;
    for (e, nll) in [(1u32, 0.3), (2, 0.2)] {
        let row = epoch(e, nll);
        let picture = NewArtefact {
            kind: ArtefactKind::Samples,
            name: "samples.png".into(),
            media_type: "image/png".into(),
            content: ArtefactContent::Blob(vec![0x89, b'P', b'N', b'G', e as u8]),
        };
        store.record_epoch(&lease, &row, &[picture]).await.unwrap();
    }
    store.finish_run(&lease, RunStatus::Finished, None).await.unwrap();
    let data = ExperimentData::load(&store, "modes").await.unwrap();
    let report = Report::build(&data, "2026-01-01 00:00:00 UTC").unwrap();

    let out = dir.path().join("reports").join("modes");
    let written = report.write(&out).unwrap();
    let umask = umask();
    let file_mode = format!("{:03o}", 0o666 & !umask);
    let folder_mode = format!("{:03o}", 0o777 & !umask);
    let figure = report.files.iter().find(|f| f.path.starts_with("figures/")).expect("a figure file");
    let picture = report.files.iter().find(|f| f.path.starts_with("images/")).expect("a picture file");
    for file in
        [written.html.clone(), written.markdown.clone(), out.join(&figure.path), out.join(&picture.path)]
    {
        assert_eq!(mode(&file), file_mode, "{} (umask {umask:03o})", file.display());
    }
    for folder in [out.clone(), out.join("figures"), out.join("images")] {
        assert_eq!(mode(&folder), folder_mode, "{} (umask {umask:03o})", folder.display());
    }

    // Writing the report again over the old one keeps the modes.
    let written = report.write(&out).unwrap();
    assert_eq!(mode(&written.html), file_mode);
    assert_eq!(mode(&out.join(&figure.path)), file_mode);
}
