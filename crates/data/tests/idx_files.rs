//! IDX round trips and every corruption case, on small files made here.

use std::path::Path;

use pixelcnn_data::idx::{self, IdxImages};
use pixelcnn_data::{DataError, DataLimits, Mnist, Split, mnist};

fn images(count: usize) -> IdxImages {
    let (rows, cols) = (28, 28);
    let pixels = (0..count * rows * cols).map(|i| (i * 7 % 256) as u8).collect();
    IdxImages { count, rows, cols, pixels }
}

#[test]
fn round_trip_raw_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["imgs", "imgs.gz"] {
        let path = dir.path().join(name);
        idx::write_images(&path, &images(3)).unwrap();
        assert_eq!(idx::read_images(&path).unwrap(), images(3));
    }
    let gz = dir.path().join("imgs.gz");
    assert_eq!(std::fs::read(&gz).unwrap()[..2], [0x1f, 0x8b], "a .gz name writes gzip");
    for name in ["labels", "labels.gz"] {
        let path = dir.path().join(name);
        idx::write_labels(&path, &[1, 2, 3, 9]).unwrap();
        assert_eq!(idx::read_labels(&path).unwrap(), vec![1, 2, 3, 9]);
    }
}

#[test]
fn truncated_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imgs");
    idx::write_images(&path, &images(2)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    for cut in [10, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = idx::read_images(&path).unwrap_err();
        assert!(matches!(err, DataError::Truncated { .. }), "{err}");
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    }
}

#[test]
fn trailing_bytes_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels");
    idx::write_labels(&path, &[1, 2]).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.push(0);
    std::fs::write(&path, bytes).unwrap();
    assert!(matches!(idx::read_labels(&path), Err(DataError::TrailingData { extra: 1, .. })));
}

#[test]
fn wrong_magic_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels");
    idx::write_labels(&path, &[1, 2]).unwrap();
    // A label file where images are expected.
    let err = idx::read_images(&path).unwrap_err();
    let DataError::WrongMagic { found, expected, .. } = &err else { panic!("{err}") };
    assert_eq!((*found, *expected), (idx::LABELS_MAGIC, idx::IMAGES_MAGIC));
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn corrupt_gzip_is_an_io_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imgs.gz");
    std::fs::write(&path, [0x1f, 0x8b, 8, 0, 1, 2, 3]).unwrap();
    let err = idx::read_images(&path).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err}");
    assert!(err.to_string().contains("imgs.gz"));
}

#[test]
fn count_mismatch_names_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let (img, lab) = (dir.path().join("i"), dir.path().join("l"));
    idx::write_images(&img, &images(3)).unwrap();
    idx::write_labels(&lab, &[1, 2]).unwrap();
    let err = Split::read(&img, &lab).unwrap_err();
    let DataError::CountMismatch { image_count, label_count, .. } = err else { panic!() };
    assert_eq!((image_count, label_count), (3, 2));
}

/// Writes a tiny standard data folder: `n_train` and `n_test` images, gzip or raw.
fn tiny_folder(dir: &Path, n_train: usize, n_test: usize, gz: bool) {
    let ext = if gz { ".gz" } else { "" };
    let write = |name: &str, n: usize, labels_name: &str| {
        idx::write_images(&dir.join(format!("{name}{ext}")), &images(n)).unwrap();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        idx::write_labels(&dir.join(format!("{labels_name}{ext}")), &labels).unwrap();
    };
    write(mnist::TRAIN_IMAGES, n_train, mnist::TRAIN_LABELS);
    write(mnist::TEST_IMAGES, n_test, mnist::TEST_LABELS);
}

#[test]
fn any_folder_with_the_standard_files_loads_with_limits_and_validation() {
    for gz in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        tiny_folder(dir.path(), 20, 8, gz);
        let limits = DataLimits { train_limit: Some(5), test_limit: Some(4), validation_size: 6 };
        let data = Mnist::load(dir.path(), &limits).unwrap();
        assert_eq!((data.train.len(), data.test.len()), (5, 4));
        let validation = data.validation.unwrap();
        assert_eq!(validation.len(), 6);
        // The validation split is the last 6 training images.
        assert_eq!(validation.labels, vec![4, 5, 6, 7, 8, 9]);
        assert_eq!(validation.images.image(0), images(20).image(14));
        assert_eq!(data.checksums.len(), 4);
    }
}

#[test]
fn missing_file_and_oversized_validation_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = Mnist::load(dir.path(), &DataLimits::default()).unwrap_err();
    assert!(matches!(err, DataError::MissingFile { .. }), "{err}");
    tiny_folder(dir.path(), 4, 2, false);
    let limits = DataLimits { validation_size: 4, ..DataLimits::default() };
    let err = Mnist::load(dir.path(), &limits).unwrap_err();
    assert!(matches!(err, DataError::ValidationTooLarge { .. }), "{err}");
}

#[test]
fn checksum_mismatch_names_file_and_both_hashes() {
    let dir = tempfile::tempdir().unwrap();
    tiny_folder(dir.path(), 2, 2, false);
    let err = mnist::verify(dir.path()).unwrap_err();
    let DataError::ChecksumMismatch { path, expected, found } = &err else { panic!("{err}") };
    assert!(path.ends_with(mnist::TRAIN_IMAGES));
    let msg = err.to_string();
    assert!(msg.contains(expected.as_str()) && msg.contains(found.as_str()), "{msg}");
}
