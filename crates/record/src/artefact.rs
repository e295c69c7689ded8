//! The kinds of file a run produces.

crate::named_enum! {
    /// What an artefact shows. Stored (and serialised) as its name, also the file stem of pictures.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum ArtefactKind ("artefact kind") {
        /// A grid of images sampled from scratch (PNG).
        Samples = "samples",
        /// Occluded test images above their completions (PNG).
        Completion = "completion",
        /// An epoch checkpoint (a file under the run's output folder).
        Checkpoint = "checkpoint",
    }
}

impl ArtefactKind {
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
