//! `model.levels`: how many values a pixel takes, and the seed notebook's quantisation,
//! `np.digitize(x / 255, np.arange(q) / q) - 1`, in exact integer arithmetic:
//! level = min(floor(q * byte / 255), q - 1). For every q in 2..=256 and every byte this equals
//! numpy's float computation (checked exhaustively against numpy when the code was written).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A number of quantisation levels q, checked once when a configuration is read: 2..=256, so that
/// a level always fits in a byte. Written in files and stored as a plain integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "usize", into = "usize")]
pub struct Levels(u16);

impl Levels {
    /// The range of valid q.
    pub const RANGE: std::ops::RangeInclusive<usize> = 2..=256;

    /// Checks that `q` lies within [`Levels::RANGE`].
    pub fn new(q: usize) -> Result<Self, String> {
        if Self::RANGE.contains(&q) { Ok(Self(q as u16)) } else { Err(format!("{q} is outside 2..=256")) }
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

impl TryFrom<usize> for Levels {
    type Error = String;

    fn try_from(q: usize) -> Result<Self, String> {
        Self::new(q)
    }
}

impl From<Levels> for usize {
    fn from(levels: Levels) -> usize {
        levels.get()
    }
}

impl fmt::Display for Levels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
