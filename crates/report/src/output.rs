//! Writing a report: `index.html`, `report.md` and the files it links, all inside one folder.

use std::path::{Component, Path, PathBuf};

use crate::error::{ReportError, Result};
use crate::render::render;
use crate::view::{OutputFile, Report};

/// Sub-folders the report owns: files in them that the new report does not write are removed.
const OWNED_FOLDERS: [&str; 2] = ["figures", "images"];

/// Where a written report lies.
#[derive(Clone, Debug)]
pub struct Written {
    /// The self-contained HTML page.
    pub html: PathBuf,
    /// The Markdown version.
    pub markdown: PathBuf,
}

/// `dir/relative`, refused unless `relative` is a plain relative path of safe names: it can never
/// climb out of `dir`, whatever produced it.
pub fn inside(dir: &Path, relative: &str) -> Result<PathBuf> {
    let path = Path::new(relative);
    let safe = !relative.is_empty()
        && path.components().all(|c| matches!(c, Component::Normal(_)))
        && relative.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if !safe {
        return Err(ReportError::UnsafeName { name: relative.into() });
    }
    Ok(dir.join(path))
}

/// Writes through a temporary file and a rename, so that a reader (or a second sweep writing the
/// same report at the same moment) never sees half a file. The file gets an ordinary file's mode
/// (0666 less the umask, 0644 usually), not the temporary file's private 0600: a report is meant to
/// be read by others (a web server, colleagues on a shared machine). Folders are created 0777 less
/// the umask.
fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| ReportError::Io { path: path.into(), source };
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io)?;
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The mode given to open(2), so the process umask applies as for any new file.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temp = builder.tempfile_in(parent).map_err(io)?;
    std::io::Write::write_all(&mut temp, bytes).map_err(io)?;
    temp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Writes `files` and the rendered pages into `dir` (created when missing), then removes files of
/// an older report that the new one no longer links.
pub fn write_pages(dir: &Path, pages: &[(&str, String)], files: &[OutputFile]) -> Result<()> {
    for file in files {
        write(&inside(dir, &file.path)?, &file.bytes)?;
    }
    for (name, text) in pages {
        write(&inside(dir, name)?, text.as_bytes())?;
    }
    let current: Vec<PathBuf> = files.iter().map(|f| dir.join(&f.path)).collect();
    for owned in OWNED_FOLDERS {
        let Ok(entries) = std::fs::read_dir(dir.join(owned)) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let ours = path.extension().is_some_and(|e| e == "png" || e == "svg");
            if ours && !current.contains(&path) {
                // Another writer may have removed it already.
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    Ok(())
}

impl Report {
    /// The self-contained HTML page (plots inline, pictures as data URIs), as `index.html` holds
    /// it: what `pixelcnn serve` returns for an experiment's report.
    pub fn html(&self) -> Result<String> {
        render("report.html", &self.view)
    }

    /// Renders and writes the report into `dir`.
    pub fn write(&self, dir: &Path) -> Result<Written> {
        let html = self.html()?;
        let markdown = render("report.md", &self.view)?;
        write_pages(dir, &[("index.html", html), ("report.md", markdown)], &self.files)?;
        Ok(Written { html: dir.join("index.html"), markdown: dir.join("report.md") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_the_folder() {
        let dir = Path::new("/tmp/out");
        assert_eq!(inside(dir, "images/a-1.png").unwrap(), dir.join("images/a-1.png"));
        for bad in ["../x", "/etc/passwd", "a/../../b", "", "a b", "images/<x>.png", "./x"] {
            assert!(inside(dir, bad).is_err(), "{bad:?} accepted");
        }
    }
}
