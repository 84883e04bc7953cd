//! The step diffs the book shows: `book/src/diffs/NN-slug.diff` is what changed from the
//! previous step folder (by name) to `steps/NN-slug`, and `book/src/diffs/runtime.diff` is
//! what changed from the last step folder to the complete crate in `runtime/`.
//!
//! Every folder is copied into a temporary folder under the same path it has in the
//! repository (`steps/<name>`, `runtime`), with every line that contains `ANCHOR:` or
//! `ANCHOR_END:` removed (those are mdBook include markers, not code), and each pair is
//! compared with `git diff --no-index`. Only files git would track are copied (tracked, or
//! untracked and not ignored), so `target/` and other ignored files never show.
//!
//! The output must be the same bytes on every machine: git runs with an empty environment
//! (no user or system configuration or attributes, no external diff driver), every option
//! that shapes the output is given explicitly, and the `index <hash>..<hash>` lines, whose
//! hash length varies with git versions and repositories, are dropped.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::files::{self, TempDir};

/// Where the generated diffs live, relative to the repository root.
pub const DIFFS_DIR: &str = "book/src/diffs";

/// The folder of the complete crate, relative to the repository root. The last step folder
/// is diffed against it too, into `runtime.diff`.
pub const RUNTIME_DIR: &str = "runtime";

/// The diff of one folder against the one before it: a step against the previous step, or
/// the runtime against the last step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepDiff {
    /// The older folder, relative to the repository root, e.g. `steps/01-block-on`.
    pub old: String,
    /// The newer folder, relative to the repository root, e.g. `steps/02-executor` or
    /// `runtime`.
    pub new: String,
    /// The diff, as `git diff` prints it, without `index` lines.
    pub text: Vec<u8>,
}

impl StepDiff {
    /// The diff's file name under [`DIFFS_DIR`]: the newer folder's own name, then `.diff`
    /// (`02-executor.diff`, `runtime.diff`).
    pub fn file_name(&self) -> String {
        let name = self.new.rsplit('/').next().unwrap_or(&self.new);
        format!("{name}.diff")
    }

    /// The summary's file name under [`DIFFS_DIR`]: `02-executor.stat`.
    pub fn stat_file_name(&self) -> String {
        let name = self.new.rsplit('/').next().unwrap_or(&self.new);
        format!("{name}.stat")
    }

    /// The one-line summary the book puts on the folded diff: how many files changed and
    /// how many lines were added and removed, e.g. `9 files changed, 1,107 lines added, 14
    /// removed`.
    pub fn stat(&self) -> String {
        let (files, added, removed) = count_changes(&self.text);
        let plural = if files == 1 { "" } else { "s" };
        format!(
            "{files} file{plural} changed, {} line{} added, {} removed\n",
            thousands(added),
            if added == 1 { "" } else { "s" },
            thousands(removed)
        )
    }
}

/// Files changed, lines added and lines removed in a `git diff` output. Lines are counted
/// only inside hunks, so the `--- a` / `+++ b` headers are not.
pub fn count_changes(diff: &[u8]) -> (usize, usize, usize) {
    let (mut files, mut added, mut removed) = (0, 0, 0);
    let mut in_hunk = false;
    for line in diff.split(|&byte| byte == b'\n') {
        if line.starts_with(b"diff --git ") {
            files += 1;
            in_hunk = false;
        } else if line.starts_with(b"@@") {
            in_hunk = true;
        } else if in_hunk && line.starts_with(b"+") {
            added += 1;
        } else if in_hunk && line.starts_with(b"-") {
            removed += 1;
        }
    }
    (files, added, removed)
}

/// `n` with a comma every three digits, as the book writes numbers: `1,107`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (index, c) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The step folders under `root/steps`: names starting with two digits and a dash, sorted.
pub fn step_names(root: &Path) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for entry in files::list_dir(&root.join("steps"))? {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let bytes = name.as_bytes();
        let numbered = bytes.len() > 3
            && bytes[0].is_ascii_digit()
            && bytes[1].is_ascii_digit()
            && bytes[2] == b'-';
        if numbered && entry.path().is_dir() {
            names.push(name);
        }
    }
    Ok(names)
}

/// `text` without the lines that contain `ANCHOR:` or `ANCHOR_END:`. Every other byte,
/// line endings included, is kept.
pub fn strip_anchor_lines(text: &[u8]) -> Vec<u8> {
    text.split_inclusive(|&byte| byte == b'\n')
        .filter(|line| !contains(line, b"ANCHOR:") && !contains(line, b"ANCHOR_END:"))
        .flatten()
        .copied()
        .collect()
}

/// `git diff` output without its `index <hash>..<hash> <mode>` header lines. Only header
/// lines can start with `index `: content lines start with ` `, `+`, `-` or `\`.
pub fn drop_index_lines(diff: &[u8]) -> Vec<u8> {
    diff.split_inclusive(|&byte| byte == b'\n')
        .filter(|line| !line.starts_with(b"index "))
        .flatten()
        .copied()
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The files of `folder` (a path relative to `root`, such as `steps/01-block-on`) that git
/// would track (tracked, or untracked and not ignored), relative to that folder, sorted.
fn tracked_files(root: &Path, folder: &str) -> Result<BTreeSet<String>, String> {
    let prefix = format!("{folder}/");
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--",
        ])
        .arg(&prefix)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .map_err(|e| format!("cannot run git to list the files of {prefix}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`git ls-files` failed in {}: {}",
            root.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let mut found = BTreeSet::new();
    for path in output
        .stdout
        .split(|&byte| byte == 0)
        .filter(|p| !p.is_empty())
    {
        let path = std::str::from_utf8(path)
            .map_err(|_| format!("a file name under {prefix} is not UTF-8"))?;
        // `--cached` also lists files deleted from the working tree but not from the index.
        if let Some(inside) = path.strip_prefix(&prefix)
            && root.join(path).is_file()
        {
            found.insert(inside.to_string());
        }
    }
    Ok(found)
}

/// `git diff --no-index` from `old` to `new` (paths relative to `dir`) inside `dir`, pinned so
/// that its output does not depend on the machine.
fn git_diff(dir: &Path, old: &str, new: &str) -> Result<Vec<u8>, String> {
    let mut git = Command::new("git");
    git.current_dir(dir)
        // No user, system or repository configuration, attributes or diff options may reach
        // git: clear the environment, then give back only what it needs to run.
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_ATTR_NOSYSTEM", "1")
        .env("LC_ALL", "C");
    // Windows starts no program without SystemRoot (its DLLs and sockets live under it), and
    // git for Windows wants a folder for temporary files.
    if cfg!(windows) {
        for name in ["SystemRoot", "SystemDrive", "WINDIR", "TEMP", "TMP"] {
            if let Some(value) = std::env::var_os(name) {
                git.env(name, value);
            }
        }
    }
    if let Some(parent) = dir.parent() {
        git.env("GIT_CEILING_DIRECTORIES", parent);
    }
    git.args([
        "-c",
        "core.quotepath=off",
        "diff",
        "--no-index",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-renames",
        "--diff-algorithm=myers",
        "--indent-heuristic",
        "--unified=3",
        "--no-prefix",
        "--",
    ])
    .arg(old)
    .arg(new);
    let output = git
        .output()
        .map_err(|e| format!("cannot run git to diff {old} and {new}: {e}"))?;
    // `git diff --no-index` exits with 1 when the trees differ, 0 when they do not.
    match output.status.code() {
        Some(0 | 1) => Ok(drop_index_lines(&output.stdout)),
        _ => Err(format!(
            "`git diff --no-index {old} {new}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )),
    }
}

/// The folders to diff, oldest first, relative to `root`: every step folder, then
/// [`RUNTIME_DIR`] if it exists. Each one is diffed against the one before it.
pub fn folders(root: &Path) -> Result<Vec<String>, String> {
    let mut folders: Vec<String> = step_names(root)?
        .into_iter()
        .map(|name| format!("steps/{name}"))
        .collect();
    if root.join(RUNTIME_DIR).is_dir() {
        folders.push(RUNTIME_DIR.to_string());
    }
    Ok(folders)
}

/// Generates, in memory, the diff of every step folder against the one before it, and of
/// the runtime against the last step folder.
pub fn generate(root: &Path) -> Result<Vec<StepDiff>, String> {
    let folders = folders(root)?;
    if folders.len() < 2 {
        return Ok(Vec::new());
    }
    let temp = TempDir::new("tooling-diffs")?;
    for folder in &folders {
        let from = root.join(folder);
        let to = temp.path().join(folder);
        files::create_dir_all(&to)?;
        for file in tracked_files(root, folder)? {
            let text = files::read(&from.join(&file))?;
            files::write(&to.join(&file), &strip_anchor_lines(&text))?;
        }
    }
    folders
        .windows(2)
        .map(|pair| {
            Ok(StepDiff {
                old: pair[0].clone(),
                new: pair[1].clone(),
                text: git_diff(temp.path(), &pair[0], &pair[1])?,
            })
        })
        .collect()
}

/// The `.diff` and `.stat` files now in [`DIFFS_DIR`] (none if the folder does not exist).
fn committed(root: &Path) -> Result<Vec<String>, String> {
    let dir = root.join(DIFFS_DIR);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    Ok(files::list_dir(&dir)?
        .into_iter()
        .filter_map(|entry| entry.file_name().to_str().map(str::to_string))
        .filter(|name| name.ends_with(".diff") || name.ends_with(".stat"))
        .collect())
}

/// Regenerates [`DIFFS_DIR`]: writes every diff that changed and removes the `.diff` files
/// that no pair of folders produces any more. Returns one line per file saying what happened.
pub fn write_all(root: &Path) -> Result<Vec<String>, String> {
    let diffs = generate(root)?;
    let mut report = Vec::new();
    for diff in &diffs {
        let path = root.join(DIFFS_DIR).join(diff.file_name());
        let shown = format!("{DIFFS_DIR}/{}", diff.file_name());
        if path.is_file() && files::read(&path)? == diff.text {
            report.push(format!("unchanged {shown}"));
        } else {
            files::write(&path, &diff.text)?;
            report.push(format!("wrote     {shown} ({} -> {})", diff.old, diff.new));
        }
        let path = root.join(DIFFS_DIR).join(diff.stat_file_name());
        let stat = diff.stat();
        if !(path.is_file() && files::read(&path)? == stat.as_bytes()) {
            files::write(&path, stat.as_bytes())?;
            report.push(format!(
                "wrote     {DIFFS_DIR}/{}: {}",
                diff.stat_file_name(),
                stat.trim_end()
            ));
        }
    }
    for name in committed(root)? {
        if !diffs
            .iter()
            .any(|diff| diff.file_name() == name || diff.stat_file_name() == name)
        {
            files::remove(&root.join(DIFFS_DIR).join(&name))?;
            report.push(format!(
                "removed   {DIFFS_DIR}/{name} (no pair of folders makes it)"
            ));
        }
    }
    Ok(report)
}

/// Compares [`DIFFS_DIR`] with freshly generated diffs, writing nothing. Returns how many
/// diffs there should be, and the problems: missing, stale, and extra files.
pub fn check_all(root: &Path) -> Result<(usize, Vec<String>), String> {
    let diffs = generate(root)?;
    let mut problems = Vec::new();
    for diff in &diffs {
        let path = root.join(DIFFS_DIR).join(diff.file_name());
        let shown = format!("{DIFFS_DIR}/{}", diff.file_name());
        let pair = format!("{} -> {}", diff.old, diff.new);
        if !path.is_file() {
            problems.push(format!("{shown} is missing (the diff {pair})"));
            continue;
        }
        let text = files::read(&path)?;
        if text != diff.text {
            let line = first_difference(&text, &diff.text);
            problems.push(format!(
                "{shown} is stale: it differs from the diff {pair} from line {line} on"
            ));
        }
        let path = root.join(DIFFS_DIR).join(diff.stat_file_name());
        if !(path.is_file() && files::read(&path)? == diff.stat().as_bytes()) {
            problems.push(format!(
                "{DIFFS_DIR}/{} is missing or stale: the diff {pair} is {}",
                diff.stat_file_name(),
                diff.stat().trim_end()
            ));
        }
    }
    for name in committed(root)? {
        if !diffs
            .iter()
            .any(|diff| diff.file_name() == name || diff.stat_file_name() == name)
        {
            problems.push(format!(
                "{DIFFS_DIR}/{name} is stale: no pair of folders makes it"
            ));
        }
    }
    Ok((diffs.len(), problems))
}

/// The 1-based number of the first line where `a` and `b` differ.
fn first_difference(a: &[u8], b: &[u8]) -> usize {
    let mut a = a.split_inclusive(|&byte| byte == b'\n');
    let mut b = b.split_inclusive(|&byte| byte == b'\n');
    let mut line = 1;
    while let (Some(x), Some(y)) = (a.next(), b.next()) {
        if x != y {
            break;
        }
        line += 1;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_anchor_marker_lines() {
        let text = b"fn a() {}\n    // ANCHOR: body\n    x();\n// ANCHOR_END: body\r\nANCHOR is a word\nlast // ANCHOR_END: z";
        assert_eq!(
            strip_anchor_lines(text),
            b"fn a() {}\n    x();\nANCHOR is a word\n".to_vec()
        );
        assert_eq!(strip_anchor_lines(b"no newline"), b"no newline".to_vec());
    }

    #[test]
    fn drops_index_header_lines_only() {
        let diff = b"diff --git a b\nindex 1234abc..5678def 100644\n--- a\n+++ b\n@@ -1 +1 @@\n-index 1\n+index 2\n";
        assert_eq!(
            drop_index_lines(diff),
            b"diff --git a b\n--- a\n+++ b\n@@ -1 +1 @@\n-index 1\n+index 2\n".to_vec()
        );
    }

    #[test]
    fn first_difference_counts_lines() {
        assert_eq!(first_difference(b"a\nb\nc\n", b"a\nb\nc\n"), 4);
        assert_eq!(first_difference(b"a\nb\nc\n", b"a\nB\nc\n"), 2);
        assert_eq!(first_difference(b"a\n", b"a\nb\n"), 2);
    }

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .current_dir(dir)
            .args(args)
            .status()
            .expect("run git");
        assert!(status.success(), "git {args:?} failed");
    }

    /// A small repository with two steps: the diff shows the lesson, without anchor lines,
    /// ignored files, `index` lines or temporary paths, byte for byte.
    #[test]
    fn generates_the_diff_between_consecutive_steps() {
        let temp = TempDir::new("tooling-test-diffs").expect("temp dir");
        let root = temp.path();
        git(root, &["init", "-q"]);
        let write = |path: &str, text: &str| {
            files::write(&root.join(path), text.as_bytes()).expect("write test file");
        };
        write(".gitignore", "target/\n*.log\n");
        write(
            "steps/01-first/src/lib.rs",
            "// ANCHOR: all\nfn one() {}\n// ANCHOR_END: all\n",
        );
        write("steps/01-first/target/debug.rs", "ignored\n");
        write("steps/01-first/build.log", "ignored\n");
        write(
            "steps/02-second/src/lib.rs",
            "// ANCHOR: all\nfn one() {}\nfn two() {}\n// ANCHOR_END: all\n",
        );
        write("steps/02-second/src/new.rs", "// new\n");
        write("steps/notes/x.rs", "not a step\n");
        git(root, &["add", "steps/01-first"]);

        let diffs = generate(root).expect("generate");
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].file_name(), "02-second.diff");
        let expected = "\
diff --git steps/01-first/src/lib.rs steps/02-second/src/lib.rs
--- steps/01-first/src/lib.rs
+++ steps/02-second/src/lib.rs
@@ -1 +1,2 @@
 fn one() {}
+fn two() {}
diff --git steps/02-second/src/new.rs steps/02-second/src/new.rs
new file mode 100644
--- /dev/null
+++ steps/02-second/src/new.rs
@@ -0,0 +1 @@
+// new
";
        assert_eq!(String::from_utf8_lossy(&diffs[0].text), expected);

        let missing = "book/src/diffs/02-second.diff is missing \
                       (the diff steps/01-first -> steps/02-second)";
        assert_eq!(
            check_all(root).expect("check"),
            (1, vec![missing.to_string()])
        );
        write_all(root).expect("write");
        assert_eq!(check_all(root).expect("check"), (1, Vec::new()));
        write("book/src/diffs/02-second.diff", "old\n");
        write("book/src/diffs/03-gone.diff", "old\n");
        let (_, problems) = check_all(root).expect("check");
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].contains("02-second.diff is stale"));
        assert!(problems[1].contains("03-gone.diff is stale"));
        write_all(root).expect("write");
        assert_eq!(check_all(root).expect("check"), (1, Vec::new()));
        assert!(!root.join("book/src/diffs/03-gone.diff").exists());
    }

    /// With a `runtime/` folder, the last step is diffed against it too, into
    /// `runtime.diff`, by the same rules: paths as in the repository, no anchor lines, no
    /// ignored files. `--check` sees it go stale.
    #[test]
    fn generates_the_diff_from_the_last_step_to_the_runtime() {
        let temp = TempDir::new("tooling-test-runtime-diff").expect("temp dir");
        let root = temp.path();
        git(root, &["init", "-q"]);
        let write = |path: &str, text: &str| {
            files::write(&root.join(path), text.as_bytes()).expect("write test file");
        };
        write(".gitignore", "target/\n");
        write("steps/01-first/src/lib.rs", "fn one() {}\n");
        write("steps/02-second/src/lib.rs", "fn one() {}\nfn two() {}\n");
        write("steps/02-second/src/main.rs", "fn main() {}\n");
        write(
            "runtime/src/lib.rs",
            "fn one() {}\n// ANCHOR: two\nfn two() {}\n// ANCHOR_END: two\nfn three() {}\n",
        );
        write("runtime/examples/echo.rs", "fn main() {}\n");
        write("runtime/target/debug.rs", "ignored\n");
        assert_eq!(
            folders(root).expect("folders"),
            ["steps/01-first", "steps/02-second", "runtime"]
        );

        let diffs = generate(root).expect("generate");
        let names: Vec<String> = diffs.iter().map(StepDiff::file_name).collect();
        assert_eq!(names, ["02-second.diff", "runtime.diff"]);
        assert_eq!(diffs[1].old, "steps/02-second");
        assert_eq!(diffs[1].new, "runtime");
        let expected = "\
diff --git runtime/examples/echo.rs runtime/examples/echo.rs
new file mode 100644
--- /dev/null
+++ runtime/examples/echo.rs
@@ -0,0 +1 @@
+fn main() {}
diff --git steps/02-second/src/lib.rs runtime/src/lib.rs
--- steps/02-second/src/lib.rs
+++ runtime/src/lib.rs
@@ -1,2 +1,3 @@
 fn one() {}
 fn two() {}
+fn three() {}
diff --git steps/02-second/src/main.rs steps/02-second/src/main.rs
deleted file mode 100644
--- steps/02-second/src/main.rs
+++ /dev/null
@@ -1 +0,0 @@
-fn main() {}
";
        assert_eq!(String::from_utf8_lossy(&diffs[1].text), expected);

        write_all(root).expect("write");
        assert!(root.join("book/src/diffs/runtime.diff").is_file());
        assert_eq!(check_all(root).expect("check"), (2, Vec::new()));
        write("runtime/src/lib.rs", "fn one() {}\n");
        let (_, problems) = check_all(root).expect("check");
        assert_eq!(
            problems,
            [
                "book/src/diffs/runtime.diff is stale: it differs from the diff \
              steps/02-second -> runtime from line 10 on",
                "book/src/diffs/runtime.stat is missing or stale: the diff \
              steps/02-second -> runtime is 3 files changed, 1 line added, 2 removed"
            ]
        );
    }

    #[test]
    fn the_summary_counts_files_and_lines_inside_hunks() {
        let diff = StepDiff {
            old: "steps/01-a".to_string(),
            new: "steps/02-b".to_string(),
            text:
                b"diff --git a b\n--- a\n+++ b\n@@ -1 +1,2 @@\n x\n-y\n+++z\n+w\n\
                    diff --git c c\nnew file mode 100644\n--- /dev/null\n+++ c\n@@ -0,0 +1 @@\n+c\n"
                    .to_vec(),
        };
        assert_eq!(count_changes(&diff.text), (2, 3, 1));
        assert_eq!(diff.stat_file_name(), "02-b.stat");
        assert_eq!(diff.stat(), "2 files changed, 3 lines added, 1 removed\n");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
