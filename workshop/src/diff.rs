//! `diff`: the attendee's code against the stage's, file by file, as a unified diff. The
//! region marker lines (`ANCHOR`) are left out of both sides, as in the book's step diffs.

use std::io::Write;

use similar::TextDiff;

use crate::attempt::{self, Paths};
use crate::exercises::Exercise;
use crate::regions;

/// Prints the diff of the attempt of `exercise` against its stage.
pub fn show(paths: &Paths, exercise: &Exercise) -> Result<bool, String> {
    let dir = paths.attempt(exercise);
    let stage = paths.stage(exercise);
    if !dir.exists() {
        return Err(format!(
            "{} is not started: `cargo workshop start {}`",
            exercise.id, exercise.id
        ));
    }
    let mut files = Vec::new();
    for folder in ["src", "tests"] {
        if dir.join(folder).exists() {
            attempt::list_files(&dir, folder.as_ref(), &mut files)?;
        }
    }
    let mut same = true;
    let mut out = String::new();
    for path in files {
        let yours = regions::strip_markers(&attempt::read(&dir.join(&path))?);
        let reference = match std::fs::read_to_string(stage.join(&path)) {
            Ok(text) => regions::strip_markers(&text),
            Err(_) => String::new(),
        };
        if let Some(text) = unified(&reference, &yours, &path.display().to_string()) {
            same = false;
            out.push_str(&text);
        }
    }
    if same {
        out.push_str("Your code is the stage's, line for line.\n");
    } else {
        out.push_str("\n(- the stage's code, + yours. Different is fine when the tests pass.)\n");
    }
    // A reader that stops early (`| head`, a pager quit) is not an error: ignore a closed pipe.
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(true)
}

/// The unified diff of two texts of one file, `None` when they are the same. Line endings do
/// not count: a checkout with CRLF endings compares equal to one with LF.
pub fn unified(reference: &str, yours: &str, path: &str) -> Option<String> {
    let reference = reference.replace("\r\n", "\n");
    let yours = yours.replace("\r\n", "\n");
    if reference == yours {
        return None;
    }
    let diff = TextDiff::from_lines(&reference, &yours);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("stage/{path}"), &format!("yours/{path}"))
        .to_string();
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_lines_and_their_context_show() {
        assert_eq!(unified("a\nb\n", "a\r\nb\r\n", "x.rs"), None);
        let text = unified("a\nb\nc\n", "a\nB\nc\n", "src/x.rs").unwrap();
        assert_eq!(
            text,
            "--- stage/src/x.rs\n+++ yours/src/x.rs\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
        );
    }
}
