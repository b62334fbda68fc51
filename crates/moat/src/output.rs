//! Writing results: to standard output, or to a file that is replaced only once the whole
//! output has been written (a failed run leaves no partial file behind).

use anyhow::Context;
use std::io::Write;
use std::path::Path;

/// Calls `write` with a writer for `path` (or standard output) and commits the file only when
/// `write` succeeded.
pub fn write_atomically(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let Some(path) = path else {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        write(&mut out)?;
        return out.flush().context("writing to standard output");
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    {
        let mut out = std::io::BufWriter::new(file.as_file_mut());
        write(&mut out)?;
        out.flush()
            .with_context(|| format!("writing {}", path.display()))?;
    }
    file.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
