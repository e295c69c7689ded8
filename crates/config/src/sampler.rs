//! `sample.sampler`: which sampler draws a run's pictures.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The sampler a configuration (or `pixelcnn sample --sampler`) names. Both draw the same images
/// for a seed, up to floating-point rounding at class boundaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampler {
    /// `cached`: each layer computed once per pixel from cached activations, hundreds of times
    /// faster on a full-size model. The default.
    #[default]
    Cached,
    /// `naive`: the whole network once per pixel, as the seed does; the reference.
    Naive,
}

impl Sampler {
    /// Every sampler, the default first.
    pub const ALL: [Sampler; 2] = [Sampler::Cached, Sampler::Naive];

    /// The name in configurations, on the command line and in benchmark results.
    pub fn name(self) -> &'static str {
        match self {
            Sampler::Cached => "cached",
            Sampler::Naive => "naive",
        }
    }
}

impl fmt::Display for Sampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Sampler {
    type Err = String;

    /// Parses a name; the error lists the valid ones.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Sampler::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| format!("{name:?} is not a sampler: use \"cached\" (the default) or \"naive\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for sampler in Sampler::ALL {
            assert_eq!(sampler.name().parse::<Sampler>(), Ok(sampler));
            assert_eq!(serde_json::to_value(sampler).unwrap(), serde_json::json!(sampler.name()));
        }
        let err = "fast".parse::<Sampler>().unwrap_err();
        assert!(err.contains("\"fast\"") && err.contains("naive"), "{err}");
    }
}
