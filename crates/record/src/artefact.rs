//! The kinds of file a run produces.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What an artefact shows. Stored (and serialised) as lower-case text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtefactKind {
    /// A grid of images sampled from scratch (PNG).
    Samples,
    /// Occluded test images above their completions (PNG).
    Completion,
    /// An epoch checkpoint (a file under the run's output folder).
    Checkpoint,
}

impl ArtefactKind {
    /// Every kind.
    pub const ALL: [ArtefactKind; 3] =
        [ArtefactKind::Samples, ArtefactKind::Completion, ArtefactKind::Checkpoint];

    /// The text stored in the database, also the file stem of pictures.
    pub fn as_str(self) -> &'static str {
        match self {
            ArtefactKind::Samples => "samples",
            ArtefactKind::Completion => "completion",
            ArtefactKind::Checkpoint => "checkpoint",
        }
    }

    /// Pictures are small and what people look at: the store keeps their bytes. Checkpoints are
    /// large: the store keeps their path and checksum.
    pub fn is_picture(self) -> bool {
        matches!(self, ArtefactKind::Samples | ArtefactKind::Completion)
    }

    /// The media type of its file.
    pub fn media_type(self) -> &'static str {
        if self.is_picture() { "image/png" } else { "application/octet-stream" }
    }
}

impl fmt::Display for ArtefactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ArtefactKind {
    type Err = String;

    /// Parses a stored kind.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ArtefactKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| format!("unknown artefact kind `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_round_trips_and_matches_serde() {
        for kind in ArtefactKind::ALL {
            assert_eq!(kind.as_str().parse::<ArtefactKind>(), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(kind.as_str()));
        }
        assert!("picture".parse::<ArtefactKind>().unwrap_err().contains("picture"));
    }
}
