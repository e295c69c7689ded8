//! The IDX file format of LeCun's MNIST distribution: a big-endian header (magic number, then one u32
//! per dimension) followed by unsigned bytes. Files may be gzip-compressed; we detect that from the
//! content, not the name, so a renamed file still reads.

use std::io::{BufReader, Read, Seek, Write};
use std::path::Path;

use flate2::{Compression, read::GzDecoder, write::GzEncoder};
use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};

/// Magic number of a 3-dimensional unsigned-byte IDX file (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of a 1-dimensional unsigned-byte IDX file (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Images of an IDX file, kept as raw bytes because quantisation needs the original 0..=255 values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Height of each image.
    pub rows: usize,
    /// Width of each image.
    pub cols: usize,
    /// `count * rows * cols` bytes, image after image, each in raster order.
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// Pixels of one image (`rows * cols` bytes).
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.rows * self.cols;
        &self.pixels[index * size..(index + 1) * size]
    }

    /// Keeps only the first `n` images (no-op when `n >= count`).
    pub fn truncate(&mut self, n: usize) {
        self.count = self.count.min(n);
        self.pixels.truncate(self.count * self.rows * self.cols);
    }
}

/// Reads an image file (magic 0x00000803), raw or gzip.
pub fn read_images(path: &Path) -> Result<IdxImages> {
    let bytes = read_maybe_gzip(path)?;
    let dims = parse_header(path, &bytes, IMAGES_MAGIC, "images", 3)?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    let pixels = body(path, &bytes, 16, count * rows * cols)?;
    Ok(IdxImages { count, rows, cols, pixels })
}

/// Reads a label file (magic 0x00000801), raw or gzip.
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    let bytes = read_maybe_gzip(path)?;
    let dims = parse_header(path, &bytes, LABELS_MAGIC, "labels", 1)?;
    body(path, &bytes, 8, dims[0])
}

/// What an IDX file holds according to its header, checked against its length without keeping its
/// content: see [`check_images`] and [`check_labels`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxCheck {
    /// The header's dimensions: `[count, rows, cols]` for images, `[count]` for labels.
    pub dims: Vec<usize>,
    /// SHA-256 (hex) of the decoded content (header included): the same as
    /// [`crate::mnist::content_sha256`].
    pub sha256: String,
}

impl IdxCheck {
    /// Number of items (images or labels).
    pub fn count(&self) -> usize {
        self.dims[0]
    }
}

/// Checks an image file (magic 0x00000803), raw or gzip, without keeping its pixels: the file is
/// read once, as a stream, so a corrupt or truncated gzip stream, a wrong magic number or a body
/// whose length disagrees with the header's dimensions are the errors [`read_images`] would give.
pub fn check_images(path: &Path) -> Result<IdxCheck> {
    check(path, IMAGES_MAGIC, "images", 3)
}

/// Checks a label file (magic 0x00000801) the way [`check_images`] checks an image file.
pub fn check_labels(path: &Path) -> Result<IdxCheck> {
    check(path, LABELS_MAGIC, "labels", 1)
}

fn check(path: &Path, magic: u32, what: &'static str, ndims: usize) -> Result<IdxCheck> {
    let io_err = |source| DataError::Io { path: path.to_owned(), source };
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    let mut start = Vec::with_capacity(2);
    (&mut file).take(2).read_to_end(&mut start).map_err(io_err)?;
    file.rewind().map_err(io_err)?;
    let file = BufReader::new(file);
    // Detected from the content, like `read_maybe_gzip`, and decoded by the same decoder.
    let mut reader: Box<dyn Read> =
        if start == GZIP_MAGIC { Box::new(GzDecoder::new(file)) } else { Box::new(file) };
    let header_len = 4 * (1 + ndims);
    let mut header = Vec::with_capacity(header_len);
    (&mut reader).take(header_len as u64).read_to_end(&mut header).map_err(io_err)?;
    let dims = parse_header(path, &header, magic, what, ndims)?;
    let mut hasher = Sha256::new();
    hasher.update(&header);
    let mut body_len: u64 = 0;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(e)),
        };
        hasher.update(&chunk[..n]);
        body_len += n as u64;
    }
    // The same comparison as `body`, in u64 so that no header can overflow it.
    let expected =
        dims.iter().fold(1u64, |acc, &d| acc.saturating_mul(d as u64)).saturating_add(header_len as u64);
    let found = header_len as u64 + body_len;
    match found.cmp(&expected) {
        std::cmp::Ordering::Less => Err(DataError::Truncated { path: path.to_owned(), expected, found }),
        std::cmp::Ordering::Greater => {
            Err(DataError::TrailingData { path: path.to_owned(), extra: found - expected })
        }
        std::cmp::Ordering::Equal => Ok(IdxCheck { dims, sha256: hex::encode(hasher.finalize()) }),
    }
}

/// Writes an image file; gzip-compressed when the name ends in `.gz`.
pub fn write_images(path: &Path, images: &IdxImages) -> Result<()> {
    let mut bytes = header(IMAGES_MAGIC, &[images.count, images.rows, images.cols]);
    bytes.extend_from_slice(&images.pixels);
    write_maybe_gzip(path, &bytes)
}

/// Writes a label file; gzip-compressed when the name ends in `.gz`.
pub fn write_labels(path: &Path, labels: &[u8]) -> Result<()> {
    let mut bytes = header(LABELS_MAGIC, &[labels.len()]);
    bytes.extend_from_slice(labels);
    write_maybe_gzip(path, &bytes)
}

fn header(magic: u32, dims: &[usize]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for &d in dims {
        let d = u32::try_from(d).expect("IDX dimensions are u32");
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes
}

fn parse_header(
    path: &Path,
    bytes: &[u8],
    magic: u32,
    what: &'static str,
    ndims: usize,
) -> Result<Vec<usize>> {
    let truncated = |expected: usize| DataError::Truncated {
        path: path.to_owned(),
        expected: expected as u64,
        found: bytes.len() as u64,
    };
    let word = |i: usize| u32::from_be_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4 bytes"));
    if bytes.len() < 4 {
        return Err(truncated(4));
    }
    let found = word(0);
    if found != magic {
        return Err(DataError::WrongMagic { path: path.to_owned(), found, expected: magic, what });
    }
    let header_len = 4 * (1 + ndims);
    if bytes.len() < header_len {
        return Err(truncated(header_len));
    }
    Ok((1..=ndims).map(|i| word(i) as usize).collect())
}

fn body(path: &Path, bytes: &[u8], offset: usize, len: usize) -> Result<Vec<u8>> {
    let expected = offset + len;
    match bytes.len().cmp(&expected) {
        std::cmp::Ordering::Less => Err(DataError::Truncated {
            path: path.to_owned(),
            expected: expected as u64,
            found: bytes.len() as u64,
        }),
        std::cmp::Ordering::Greater => {
            Err(DataError::TrailingData { path: path.to_owned(), extra: (bytes.len() - expected) as u64 })
        }
        std::cmp::Ordering::Equal => Ok(bytes[offset..].to_vec()),
    }
}

fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let io_err = |source| DataError::Io { path: path.to_owned(), source };
    let raw = std::fs::read(path).map_err(io_err)?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut decoded = Vec::new();
    GzDecoder::new(raw.as_slice()).read_to_end(&mut decoded).map_err(io_err)?;
    Ok(decoded)
}

fn write_maybe_gzip(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_err = |source| DataError::Write { path: path.to_owned(), source };
    let gz = path.extension().is_some_and(|e| e == "gz");
    let out = if gz {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).map_err(io_err)?;
        enc.finish().map_err(io_err)?
    } else {
        bytes.to_vec()
    };
    std::fs::write(path, out).map_err(io_err)
}
