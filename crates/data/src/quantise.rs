//! The seed notebook's quantisation, `np.digitize(x / 255, np.arange(q) / q) - 1`, in exact integer
//! arithmetic: level = min(floor(q * byte / 255), q - 1). For every q in 2..=256 and every byte this
//! equals numpy's float computation (checked exhaustively against numpy when the crate was written).

use crate::error::{DataError, Result};

/// A validated number of quantisation levels (2..=256), so that a level always fits in a byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Levels(u16);

impl Levels {
    /// Checks that `q` lies within 2..=256.
    pub fn new(q: usize) -> Result<Self> {
        if (2..=256).contains(&q) { Ok(Self(q as u16)) } else { Err(DataError::InvalidLevels(q)) }
    }

    /// The number of levels q.
    pub fn get(self) -> usize {
        usize::from(self.0)
    }

    /// The level of one byte: 0..q-1.
    pub fn quantise(self, byte: u8) -> u8 {
        let q = u32::from(self.0);
        let level = (q * u32::from(byte) / 255).min(q - 1);
        level as u8
    }

    /// The model's input value for a level: level / (q - 1), in [0, 1].
    pub fn input_value(self, level: u8) -> f32 {
        f32::from(level) / f32::from(self.0 - 1)
    }

    /// Quantises a whole buffer.
    pub fn quantise_all(self, bytes: &[u8]) -> Vec<u8> {
        let table: Vec<u8> = (0..=255u8).map(|b| self.quantise(b)).collect();
        bytes.iter().map(|&b| table[usize::from(b)]).collect()
    }
}
