//! An invalid request changes nothing: a device this machine does not have, a missing data folder
//! or a corrupt, truncated or mislabelled IDX file is an error found before anything is written.
//! The database file is compared byte for byte (and its `-wal`/`-shm` companions by existence)
//! before and after each such request, and no run folder or output file may appear.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{json, pixelcnn, text, tiny_config, tiny_experiment};
use pixelcnn_data::idx::{self, IdxImages};
use pixelcnn_data::mnist::{TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};

/// Writes a tiny MNIST-style data folder (raw IDX files, 28x28 images) and returns it.
fn tiny_data(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let images = |count: usize, salt: usize| IdxImages {
        count,
        rows: 28,
        cols: 28,
        pixels: (0..count * 784)
            .map(|i| if (i * 31 + salt) % 97 < 30 { 255 } else { (i % 7) as u8 })
            .collect(),
    };
    let labels = |count: usize| (0..count).map(|i| (i % 10) as u8).collect::<Vec<u8>>();
    idx::write_images(&dir.join(TRAIN_IMAGES), &images(128, 1)).unwrap();
    idx::write_labels(&dir.join(TRAIN_LABELS), &labels(128)).unwrap();
    idx::write_images(&dir.join(TEST_IMAGES), &images(32, 2)).unwrap();
    idx::write_labels(&dir.join(TEST_LABELS), &labels(32)).unwrap();
    dir.to_owned()
}

/// A copy of `data` in `to`.
fn copy_data(data: &Path, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(data).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    to.to_owned()
}

/// Everything a request could have written: the database's bytes, which of its `-wal`/`-shm`
/// files exist, and every path under the folders given (run folders, output folders).
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    db: Vec<u8>,
    companions: Vec<(String, bool)>,
    paths: BTreeSet<PathBuf>,
}

fn snapshot(db: &Path, folders: &[&Path]) -> Snapshot {
    let companions = ["-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            (suffix.to_string(), Path::new(&name).exists())
        })
        .collect();
    let mut paths = BTreeSet::new();
    for folder in folders {
        walk(folder, &mut paths);
    }
    Snapshot { db: std::fs::read(db).unwrap(), companions, paths }
}

fn walk(path: &Path, into: &mut BTreeSet<PathBuf>) {
    if !path.exists() {
        return;
    }
    into.insert(path.to_owned());
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            walk(&entry.unwrap().path(), into);
        }
    }
}

fn sweep(file: &Path, db: &Path, runs: &Path, data: &Path, extra: &[&str]) -> Output {
    pixelcnn()
        .args(["sweep", file.to_str().unwrap(), "--db", db.to_str().unwrap(), "--no-report"])
        .args(["--runs-dir", runs.to_str().unwrap()])
        .arg("--set")
        .arg(format!("data.dir={}", data.display()))
        .args(extra)
        .output()
        .unwrap()
}

fn rerun(db: &Path, runs: &Path, run: &str, extra: &[&str]) -> Output {
    pixelcnn()
        .args(["rerun", run, "--db", db.to_str().unwrap(), "--runs-dir", runs.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap()
}

/// Asserts that `out` failed and said every one of `words`.
fn assert_refused(case: &str, out: &Output, words: &[&str]) {
    let said = text(out);
    assert!(!out.status.success(), "{case}: should fail: {said}");
    for word in words {
        assert!(said.contains(word), "{case}: the error names `{word}`: {said}");
    }
}

#[test]
fn invalid_devices_and_data_leave_the_database_and_the_run_folders_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let data = tiny_data(&root.join("data"));
    let db = root.join("p.db");
    let runs = root.join("runs");
    let file = tiny_experiment(root, "valid", 1, "[sweep]\nseeds = [1]\n");

    // A real sweep first, so that the database has content to keep.
    let o = sweep(&file, &db, &runs, &data, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let listed = json(&["runs"], &db);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["status"], "finished", "{listed}");
    let run_id = listed[0]["id"].as_str().unwrap().to_owned();
    let before = snapshot(&db, &[&runs]);
    assert!(before.paths.len() > 1, "the sweep wrote its run folder");
    let unchanged = |case: &str| {
        let after = snapshot(&db, &[&runs]);
        assert!(after.db == before.db, "{case}: the database file changed");
        assert_eq!(after.companions, before.companions, "{case}: -wal/-shm files appeared or went");
        assert_eq!(after.paths, before.paths, "{case}: files were written under the runs folder");
    };

    // A device this machine does not have (no CUDA here; and no machine has eight of them
    // in this project's tests).
    let o = sweep(&file, &db, &runs, &data, &["--set", "device=cuda:7"]);
    assert_refused("device=cuda:7", &o, &["device", "cuda:7", "CUDA device(s) are usable"]);
    unchanged("device=cuda:7");

    // A data folder that does not exist.
    let missing = root.join("no-such-folder");
    let o = sweep(&file, &db, &runs, &missing, &[]);
    assert_refused(
        "missing folder",
        &o,
        &["data.dir", "no-such-folder", "does not exist", "--set data.dir="],
    );
    assert!(!text(&o).contains("--data "), "sweep has no --data option: {}", text(&o));
    unchanged("missing folder");

    // A folder that lacks one of the four files.
    let incomplete = copy_data(&data, &root.join("incomplete"));
    std::fs::remove_file(incomplete.join(TEST_LABELS)).unwrap();
    let o = sweep(&file, &db, &runs, &incomplete, &[]);
    assert_refused("missing file", &o, &[TEST_LABELS, "incomplete"]);
    unchanged("missing file");

    // A truncated image file.
    let truncated = copy_data(&data, &root.join("truncated"));
    let path = truncated.join(TRAIN_IMAGES);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let o = sweep(&file, &db, &runs, &truncated, &[]);
    assert_refused("truncated file", &o, &[&path.display().to_string(), "truncated"]);
    unchanged("truncated file");

    // A corrupt gzip stream: one flipped byte inside the compressed data fails its CRC or its
    // decoding.
    let corrupt = copy_data(&data, &root.join("corrupt-gzip"));
    std::fs::remove_file(corrupt.join(TEST_IMAGES)).unwrap();
    let gz = corrupt.join(format!("{TEST_IMAGES}.gz"));
    idx::write_images(&gz, &idx::read_images(&data.join(TEST_IMAGES)).unwrap()).unwrap();
    let mut bytes = std::fs::read(&gz).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&gz, &bytes).unwrap();
    let o = sweep(&file, &db, &runs, &corrupt, &[]);
    assert_refused("corrupt gzip", &o, &[&gz.display().to_string()]);
    unchanged("corrupt gzip");

    // A label file where images belong: the wrong magic number.
    let swapped = copy_data(&data, &root.join("swapped"));
    std::fs::copy(data.join(TRAIN_LABELS), swapped.join(TRAIN_IMAGES)).unwrap();
    let o = sweep(&file, &db, &runs, &swapped, &[]);
    assert_refused("wrong magic", &o, &[&swapped.join(TRAIN_IMAGES).display().to_string(), "magic"]);
    unchanged("wrong magic");

    // Image and label files that disagree on their counts.
    let uneven = copy_data(&data, &root.join("uneven"));
    idx::write_labels(&uneven.join(TEST_LABELS), &[1, 2, 3]).unwrap();
    let o = sweep(&file, &db, &runs, &uneven, &[]);
    assert_refused("count mismatch", &o, &[TEST_IMAGES, TEST_LABELS, "3 labels"]);
    unchanged("count mismatch");

    // A validation split that leaves no training images.
    let o = sweep(&file, &db, &runs, &data, &["--set", "data.validation_size=128"]);
    assert_refused("validation_size", &o, &["validation_size"]);
    unchanged("validation_size");

    // Slurm options without the Slurm launcher: refused rather than ignored.
    let o = sweep(&file, &db, &runs, &data, &["--wait", "--partition", "gpu"]);
    assert_refused("slurm options", &o, &["--partition", "--wait", "--launcher slurm"]);
    unchanged("slurm options");

    // A rerun on a device this machine does not have.
    let o = rerun(&db, &runs, &run_id[..8], &["--device", "cuda:7"]);
    assert_refused("rerun --device cuda:7", &o, &["device", "cuda:7"]);
    unchanged("rerun --device cuda:7");

    // A rerun whose recorded data folder has since been damaged.
    let path = data.join(TEST_LABELS);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let o = rerun(&db, &runs, &run_id[..8], &[]);
    assert_refused("rerun on damaged data", &o, &[&path.display().to_string(), "truncated"]);
    unchanged("rerun on damaged data");
    // A sweep on it is refused the same way.
    let o = sweep(&file, &db, &runs, &data, &[]);
    assert_refused("sweep on damaged data", &o, &[&path.display().to_string(), "truncated"]);
    unchanged("sweep on damaged data");
}

#[test]
fn train_refuses_an_invalid_device_or_data_before_writing_its_output_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let data = tiny_data(&root.join("data"));
    let config = tiny_config(root, "cpu", 2, 1);
    let train = |out: &Path, sets: &[String]| {
        let mut cmd = pixelcnn();
        cmd.args(["train", "--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        for set in sets {
            cmd.args(["--set", set]);
        }
        cmd.output().unwrap()
    };
    let data_dir = |d: &Path| format!("data.dir={}", d.display());

    let out = root.join("cuda-out");
    let o = train(&out, &[data_dir(&data), "device=cuda:7".into()]);
    assert_refused("train device=cuda:7", &o, &["device", "cuda:7"]);
    assert!(!out.exists(), "nothing is written for an unusable device");

    let out = root.join("missing-out");
    let o = train(&out, &[data_dir(&root.join("nowhere"))]);
    assert_refused("train missing folder", &o, &["nowhere", "does not exist"]);
    assert!(!out.exists(), "nothing is written for a missing data folder");

    let damaged = copy_data(&data, &root.join("damaged"));
    let path = damaged.join(TRAIN_LABELS);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    let out = root.join("damaged-out");
    let o = train(&out, &[data_dir(&damaged)]);
    assert_refused("train damaged data", &o, &[&path.display().to_string(), "truncated"]);
    assert!(!out.exists(), "nothing is written for damaged data");
}
