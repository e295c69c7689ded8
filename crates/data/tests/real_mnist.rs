//! The real MNIST files that `just setup` installs (`$PIXELCNN_CACHE/mnist`).

use pixelcnn_data::{DataLimits, Levels, Mnist, QuantisedSplit, mnist};

#[test]
fn real_mnist_counts_labels_and_checksums() {
    let dir = mnist::default_dir();
    let verified = mnist::verify(&dir)
        .unwrap_or_else(|e| panic!("real MNIST missing or corrupt ({e}); run `just setup`"));
    assert_eq!(verified.len(), 4);
    let data = Mnist::load(&dir, &DataLimits::default()).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (60_000, 10_000));
    let mut histogram = [0usize; 10];
    for &label in &data.test.labels {
        histogram[usize::from(label)] += 1;
    }
    assert_eq!(histogram, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    for (name, hash) in &data.checksums {
        let expected = mnist::expected_checksums();
        assert!(expected.iter().any(|(n, h)| n == name && h == hash), "{name}");
    }
}

#[test]
fn seeded_shuffles_repeat_and_batches_hold_levels() {
    let dir = mnist::default_dir();
    let limits = DataLimits { train_limit: Some(300), test_limit: Some(10), validation_size: 0 };
    let data = Mnist::load(&dir, &limits).expect("run `just setup`");
    let split = QuantisedSplit::new(&data.train, Levels::new(2).unwrap());
    let a = split.epoch_order(7, 0);
    assert_eq!(a, split.epoch_order(7, 0));
    assert_ne!(a, split.epoch_order(7, 1));
    assert_ne!(a, split.epoch_order(8, 0));
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..300).collect::<Vec<_>>());

    let device = burn::tensor::Device::flex();
    let batch = split.batch(&a[..4], &device);
    assert_eq!(batch.inputs.dims(), [4, 1, 28, 28]);
    assert_eq!(batch.targets.dims(), [4, 28, 28]);
    let targets: Vec<i64> = batch.targets.into_data().convert::<i64>().try_into_vec().unwrap();
    let inputs: Vec<f32> = batch.inputs.into_data().try_into_vec().unwrap();
    assert!(targets.iter().all(|&t| t == 0 || t == 1));
    assert!(targets.iter().zip(&inputs).all(|(&t, &x)| x == t as f32));
    assert_eq!(&targets[..784].iter().map(|&t| t as u8).collect::<Vec<_>>()[..], split.image(a[0]));
    // Each image's label travels with it, for label-conditional models.
    let labels: Vec<i64> = batch.labels.into_data().convert::<i64>().try_into_vec().unwrap();
    let expected: Vec<i64> = a[..4].iter().map(|&i| i64::from(data.train.labels[i])).collect();
    assert_eq!(labels, expected);
    assert_eq!(split.label(a[1]), data.train.labels[a[1]]);
}
