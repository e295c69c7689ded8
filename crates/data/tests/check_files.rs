//! The cheap format check (`idx::check_*`, `MnistFiles::check`, `mnist::check_dir`): it accepts
//! what the readers accept, rejects what they reject with the same error naming the file, and
//! gives the same checksums as `content_sha256`.

use std::path::Path;

use pixelcnn_data::idx::{self, IdxImages};
use pixelcnn_data::mnist::{self, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
use pixelcnn_data::{DataError, DataLimits, Mnist};

fn images(count: usize) -> IdxImages {
    let (rows, cols) = (28, 28);
    let pixels = (0..count * rows * cols).map(|i| (i * 7 % 256) as u8).collect();
    IdxImages { count, rows, cols, pixels }
}

fn write_folder(dir: &Path, gz: bool) {
    let name = |n: &str| if gz { dir.join(format!("{n}.gz")) } else { dir.join(n) };
    idx::write_images(&name(TRAIN_IMAGES), &images(6)).unwrap();
    idx::write_labels(&name(TRAIN_LABELS), &[1, 2, 3, 4, 5, 6]).unwrap();
    idx::write_images(&name(TEST_IMAGES), &images(2)).unwrap();
    idx::write_labels(&name(TEST_LABELS), &[7, 8]).unwrap();
}

#[test]
fn a_good_folder_checks_with_the_loaders_checksums_raw_and_gzip() {
    for gz in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        write_folder(dir.path(), gz);
        let checked = mnist::check_dir(dir.path()).unwrap();
        assert_eq!((checked.train_count, checked.test_count, checked.rows, checked.cols), (6, 2, 28, 28));
        let loaded = Mnist::load(dir.path(), &DataLimits::default()).unwrap();
        assert_eq!(checked.checksums(), loaded.checksums, "gz = {gz}");
        for file in &checked.files {
            assert_eq!(file.sha256, mnist::content_sha256(&file.path).unwrap());
        }
    }
}

/// Both the check and the reader fail on `path`, with the same kind of error, naming the file.
fn both_fail(path: &Path, images: bool) -> DataError {
    let (checked, read) = if images {
        (idx::check_images(path).unwrap_err(), idx::read_images(path).unwrap_err())
    } else {
        (idx::check_labels(path).unwrap_err(), idx::read_labels(path).unwrap_err())
    };
    assert_eq!(std::mem::discriminant(&checked), std::mem::discriminant(&read), "{checked} / {read}");
    assert!(checked.to_string().contains(&path.display().to_string()), "{checked}");
    checked
}

#[test]
fn truncation_trailing_bytes_and_wrong_magic_are_the_readers_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imgs");
    idx::write_images(&path, &images(2)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    for cut in [0, 3, 10, 16, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = both_fail(&path, true);
        let DataError::Truncated { expected, found, .. } = err else { panic!("{err}") };
        assert_eq!(found, cut as u64);
        let read = idx::read_images(&path).unwrap_err();
        assert!(
            matches!(read, DataError::Truncated { expected: e, found: f, .. } if (e, f) == (expected, found))
        );
    }
    let mut longer = bytes.clone();
    longer.extend([0, 0, 0]);
    std::fs::write(&path, &longer).unwrap();
    assert!(matches!(both_fail(&path, true), DataError::TrailingData { extra: 3, .. }));

    let labels = dir.path().join("labels");
    idx::write_labels(&labels, &[1, 2]).unwrap();
    assert!(matches!(both_fail(&labels, true), DataError::WrongMagic { .. }));
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(both_fail(&path, false), DataError::WrongMagic { .. }));
}

#[test]
fn a_corrupt_or_truncated_gzip_stream_is_an_io_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imgs.gz");
    idx::write_images(&path, &images(20)).unwrap();
    let good = std::fs::read(&path).unwrap();
    // A flipped byte in the deflate data, in the CRC, and a stream cut short.
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x55;
    let mut bad_crc = good.clone();
    let at = good.len() - 6;
    bad_crc[at] ^= 0xff;
    for (what, bytes) in [("flipped", flipped), ("crc", bad_crc), ("cut", good[..good.len() - 20].to_vec())] {
        std::fs::write(&path, &bytes).unwrap();
        let err = idx::check_images(&path).unwrap_err();
        assert!(
            matches!(err, DataError::Io { .. } | DataError::Truncated { .. } | DataError::WrongMagic { .. }),
            "{what}: {err}"
        );
        assert!(err.to_string().contains("imgs.gz"), "{what}: {err}");
        assert!(idx::read_images(&path).is_err(), "{what}: the reader fails too");
    }
}

#[test]
fn folder_level_problems_name_the_folder_or_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent");
    let err = mnist::check_dir(&missing).unwrap_err();
    assert!(matches!(err, DataError::MissingDir { .. }), "{err}");
    assert!(err.to_string().contains("absent") && err.to_string().contains("data.dir"), "{err}");

    write_folder(dir.path(), false);
    std::fs::remove_file(dir.path().join(TRAIN_LABELS)).unwrap();
    let err = mnist::check_dir(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::MissingFile { name: TRAIN_LABELS, .. }), "{err}");

    idx::write_labels(&dir.path().join(TRAIN_LABELS), &[1, 2, 3]).unwrap();
    let err = mnist::check_dir(dir.path()).unwrap_err();
    let DataError::CountMismatch { image_count, label_count, .. } = err else { panic!("{err}") };
    assert_eq!((image_count, label_count), (6, 3));
}

#[test]
fn the_real_mnist_checks_against_the_committed_sums() {
    let dir = mnist::default_dir();
    if !dir.is_dir() {
        eprintln!("skipped: no MNIST in {} (run `just setup`)", dir.display());
        return;
    }
    let checked = mnist::check_dir(&dir).unwrap();
    assert_eq!(
        (checked.train_count, checked.test_count, checked.rows, checked.cols),
        (60_000, 10_000, 28, 28)
    );
    let expected = mnist::expected_checksums();
    for (name, sha) in checked.checksums() {
        assert!(expected.contains(&(name.as_str(), sha.as_str())), "{name}: {sha}");
    }
}
