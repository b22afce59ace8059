//! Streaming an output file atomically: rows written as they are made, the file appearing
//! under its name only once whole.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A file written beside its destination and renamed over it by [`commit`](Self::commit);
/// dropped uncommitted, it is removed.
pub struct AtomicFile {
    pub writer: BufWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = path.file_name().context("--out needs a file name")?.to_string_lossy();
        let tmp = dir.join(format!(".{name}.tmp"));
        let file = File::create(&tmp).with_context(|| {
            format!("cannot write {}: check that the directory exists and is writable", path.display())
        })?;
        Ok(AtomicFile { writer: BufWriter::new(file), tmp, path: path.to_path_buf(), committed: false })
    }

    pub fn commit(mut self) -> Result<()> {
        let done = self.writer.flush().and_then(|()| std::fs::rename(&self.tmp, &self.path));
        done.with_context(|| format!("cannot write {}", self.path.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uncommitted_file_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("scores.csv");
        {
            let mut f = AtomicFile::create(&out).unwrap();
            writeln!(f.writer, "half").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut f = AtomicFile::create(&out).unwrap();
        writeln!(f.writer, "whole").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "whole\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
