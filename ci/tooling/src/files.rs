//! File-system helpers whose errors always name the file they were about.

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process;
use std::time::{SystemTime, UNIX_EPOCH};

/// Reads a whole file as bytes.
pub fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Reads a whole file as UTF-8 text.
pub fn read_text(path: &Path) -> Result<String, String> {
    String::from_utf8(read(path)?).map_err(|e| format!("{} is not UTF-8: {e}", path.display()))
}

/// Writes a whole file, creating the folders above it.
pub fn write(path: &Path, contents: &[u8]) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        create_dir_all(parent)?;
    }
    fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Creates a folder and the folders above it.
pub fn create_dir_all(path: &Path) -> Result<(), String> {
    fs::create_dir_all(path).map_err(|e| format!("cannot create folder {}: {e}", path.display()))
}

/// Removes a file.
pub fn remove(path: &Path) -> Result<(), String> {
    fs::remove_file(path).map_err(|e| format!("cannot remove {}: {e}", path.display()))
}

/// The entries of one folder, sorted by name.
pub fn list_dir(dir: &Path) -> Result<Vec<fs::DirEntry>, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut entries = entries
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    entries.sort_by_key(|entry| entry.file_name());
    Ok(entries)
}

/// Every file under `dir` (recursively, not following symbolic links to folders) whose name
/// ends with `suffix`, in a stable order.
pub fn walk(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    for entry in list_dir(dir)? {
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
        if kind.is_dir() {
            found.extend(walk(&path, suffix)?);
        } else if path.to_string_lossy().ends_with(suffix) && path.is_file() {
            found.push(path);
        }
    }
    Ok(found)
}

/// Resolves `.` and `..` in a path without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` relative to `base`, with `/` separators, as the book and the messages spell paths;
/// the whole path if it is not under `base`.
pub fn display_relative(path: &Path, base: &Path) -> String {
    match path.strip_prefix(base) {
        Ok(inside) => inside
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.to_string_lossy().into_owned(),
    }
}

/// The repository root: the nearest folder, from the current one upwards, that holds
/// `ci/tooling/Cargo.toml`. Falls back to where this crate was built from.
pub fn find_root() -> Result<PathBuf, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current folder: {e}"))?;
    if let Some(root) = cwd
        .ancestors()
        .find(|dir| dir.join("ci/tooling/Cargo.toml").is_file())
    {
        return Ok(root.to_path_buf());
    }
    let built_from = normalize(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    if built_from.join("ci/tooling/Cargo.toml").is_file() {
        Ok(built_from)
    } else {
        Err(format!(
            "cannot find the repository root (a folder with ci/tooling/Cargo.toml) above {}; pass --root DIR",
            cwd.display()
        ))
    }
}

/// A fresh folder under the system's temporary folder, removed with everything in it on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a new, empty temporary folder whose name starts with `prefix`.
    pub fn new(prefix: &str) -> Result<TempDir, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        for attempt in 0..100u32 {
            let path =
                std::env::temp_dir().join(format!("{prefix}-{}-{nanos}-{attempt}", process::id()));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
        }
        Err("cannot create a temporary folder: every name tried exists".to_string())
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a leftover folder in the temporary folder is harmless.
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots_lexically() {
        assert_eq!(
            normalize(Path::new("/r/book/src/ch/../../../steps/./01/a.rs")),
            PathBuf::from("/r/steps/01/a.rs")
        );
        assert_eq!(normalize(Path::new("../x/./y")), PathBuf::from("../x/y"));
    }

    #[test]
    fn display_relative_uses_slashes() {
        assert_eq!(
            display_relative(Path::new("/r/steps/01/a.rs"), Path::new("/r")),
            "steps/01/a.rs"
        );
        assert_eq!(
            display_relative(Path::new("/elsewhere/a.rs"), Path::new("/r")),
            "/elsewhere/a.rs"
        );
    }
}
