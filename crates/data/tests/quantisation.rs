//! The seed's quantisation, `np.digitize(x/255, arange(q)/q) - 1`, checked against a table written
//! with integer arithmetic in this test.

use pixelcnn_data::Levels;

/// Expected level, by integer arithmetic: the largest k < q with k/q <= byte/255.
fn expected(byte: u8, q: u32) -> u8 {
    (0..q).rev().find(|k| k * 255 <= q * u32::from(byte)).unwrap() as u8
}

#[test]
fn boundary_bytes_for_several_q() {
    let table: &[(usize, &[(u8, u8)])] = &[
        (2, &[(0, 0), (127, 0), (128, 1), (255, 1)]),
        (3, &[(84, 0), (85, 1), (169, 1), (170, 2), (255, 2)]),
        (4, &[(63, 0), (64, 1), (127, 1), (128, 2), (191, 2), (192, 3)]),
        (256, &[(0, 0), (1, 1), (128, 128), (254, 254), (255, 255)]),
    ];
    for (q, rows) in table {
        let levels = Levels::new(*q).unwrap();
        for &(byte, level) in *rows {
            assert_eq!(levels.quantise(byte), level, "q={q} byte={byte}");
        }
    }
}

#[test]
fn every_q_and_byte_matches_integer_digitize_and_is_monotone() {
    for q in 2..=256u32 {
        let levels = Levels::new(q as usize).unwrap();
        let mut previous = 0;
        for byte in 0..=255u8 {
            let level = levels.quantise(byte);
            assert_eq!(level, expected(byte, q), "q={q} byte={byte}");
            assert!(level >= previous && u32::from(level) < q);
            previous = level;
        }
        assert_eq!(levels.quantise(255), (q - 1) as u8);
    }
}

#[test]
fn q256_is_the_identity_and_inputs_span_zero_to_one() {
    let levels = Levels::new(256).unwrap();
    assert!((0..=255u8).all(|b| levels.quantise(b) == b));
    assert_eq!(levels.input_value(0), 0.0);
    assert_eq!(levels.input_value(255), 1.0);
    assert_eq!(Levels::new(2).unwrap().input_value(1), 1.0);
}

#[test]
fn levels_outside_2_to_256_are_errors() {
    for q in [0, 1, 257, 1000] {
        let err = Levels::new(q).unwrap_err();
        assert!(err.starts_with(&q.to_string()) && err.contains("2..=256"), "{err}");
    }
}
