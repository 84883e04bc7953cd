//! An attempt: the crate an attendee works in, `workshop/attempts/<id>/`, generated from its
//! stage, and the progress file next to the attempts.

use std::fs;
use std::path::{Path, PathBuf};

use crate::exercises::Exercise;
use crate::manifest;
use crate::regions::{self, Fill};

/// Where things are.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The repository root.
    pub root: PathBuf,
    /// `workshop/attempts`: one folder per started exercise, and the progress file.
    pub attempts: PathBuf,
    /// The target folder every attempt builds into, so dependencies compile once:
    /// `$CARGO_TARGET_DIR/workshop`, or `target/workshop` under the root.
    pub target: PathBuf,
}

impl Paths {
    /// The paths for the repository this runner was built in.
    pub fn new() -> Paths {
        // The runner lives in `<root>/workshop`; cargo tells us where at build time.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".."));
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => PathBuf::from(dir).join("workshop"),
            None => root.join("target").join("workshop"),
        };
        Paths {
            attempts: root.join("workshop").join("attempts"),
            root,
            target,
        }
    }

    /// The attempt folder of an exercise.
    pub fn attempt(&self, exercise: &Exercise) -> PathBuf {
        self.attempts.join(exercise.id)
    }

    /// The stage folder of an exercise.
    pub fn stage(&self, exercise: &Exercise) -> PathBuf {
        self.root.join("steps").join(exercise.stage)
    }
}

/// The files of a generated crate: (path relative to the crate, content), and how many lines
/// its holes took out.
#[derive(Debug)]
pub struct Generated {
    /// Every file to write.
    pub files: Vec<(PathBuf, String)>,
    /// Non-blank lines in the exercise's regions.
    pub lines_to_write: usize,
    /// How many regions the exercise has.
    pub regions: usize,
}

/// The crate of `exercise`: its stage with the exercise's regions filled as `fill` says, its
/// manifest made standalone under the name `package`, the workspace's `Cargo.lock` (the same
/// dependency versions).
///
/// Every crate that builds into one target folder needs a package name of its own: cargo keys
/// the artifacts of a path package on its name and version, not its folder, so two folders
/// with one name would take each other's builds for up to date.
pub fn generate(
    paths: &Paths,
    exercise: &Exercise,
    fill: Fill,
    package: &str,
) -> Result<Generated, String> {
    let stage = paths.stage(exercise);
    let mut relative = Vec::new();
    list_files(&stage, Path::new(""), &mut relative)?;
    let see = exercise.see();
    let mut generated = Generated {
        files: Vec::new(),
        lines_to_write: 0,
        regions: 0,
    };
    for path in relative {
        let text = read(&stage.join(&path))?;
        let text = if path == Path::new("Cargo.toml") {
            let root_manifest = read(&paths.root.join("Cargo.toml"))?;
            let shared = manifest::shared(&root_manifest);
            manifest::standalone(&text, &shared, package)?
        } else if path.extension().is_some_and(|e| e == "rs") && path.starts_with("src") {
            let lines: Vec<&str> = text.lines().collect();
            let found = regions::find(&lines).map_err(|e| format!("{}: {e}", path.display()))?;
            generated.lines_to_write += found
                .iter()
                .filter(|region| region.exercise == exercise.id)
                .map(|region| region.lines_to_write(&lines))
                .sum::<usize>();
            let (text, count) = regions::fill(&text, exercise.id, fill, &see)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            generated.regions += count;
            text
        } else {
            text
        };
        generated.files.push((path, text));
    }
    let lock = read(&paths.root.join("Cargo.lock"))?;
    generated.files.push((PathBuf::from("Cargo.lock"), lock));
    generated
        .files
        .push((Path::new(".cargo").join("config.toml"), cargo_config(paths)));
    if generated.regions == 0 {
        return Err(format!(
            "no `exercise-{}-…` region in {}/src",
            exercise.id,
            stage.display()
        ));
    }
    Ok(generated)
}

/// The attempt's `.cargo/config.toml`. An attempt is a workspace of its own, so the project's
/// alias (`-p workshop`) would not find the runner from inside it: this one names the runner's
/// manifest by its absolute path, so `cargo workshop check` works from the attempt's folders
/// too. And a plain `cargo test` there builds into the shared target folder.
///
/// The alias must be a string, like the project's: cargo joins an alias given as an array
/// with the one of a parent folder's config. A string is split at spaces, so a path with a
/// space gets no alias here: from such a checkout, run `cargo workshop` at the top.
fn cargo_config(paths: &Paths) -> String {
    let manifest = paths.root.join("workshop").join("Cargo.toml");
    let manifest = manifest.to_string_lossy();
    let mut text = String::from("# Written by `cargo workshop start`.\n");
    if !manifest.contains(char::is_whitespace) {
        text.push_str(&format!(
            "# The runner, from inside this attempt too.\n[alias]\nworkshop = {}\n\n",
            toml_string(&format!("run -q --manifest-path {manifest} --"))
        ));
    }
    text.push_str(&format!(
        "# `cargo test` here builds into the folder the runner uses.\n[build]\ntarget-dir = {}\n",
        toml_string(&paths.target.to_string_lossy())
    ));
    text
}

/// `text` as a TOML basic string: quoted, with backslashes (Windows paths) and quotes escaped.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Writes a generated crate into `dir`, which must not exist yet.
pub fn write(dir: &Path, generated: &Generated) -> Result<(), String> {
    for (path, text) in &generated.files {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    Ok(())
}

/// The files under `dir/prefix` (relative to `dir`), skipping `target` folders, sorted.
pub fn list_files(dir: &Path, prefix: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let folder = dir.join(prefix);
    let entries =
        fs::read_dir(&folder).map_err(|e| format!("cannot list {}: {e}", folder.display()))?;
    let mut names: Vec<_> = entries
        .map(|entry| entry.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot list {}: {e}", folder.display()))?;
    names.sort();
    for name in names {
        let path = prefix.join(&name);
        if dir.join(&path).is_dir() {
            if name != "target" {
                list_files(dir, &path, out)?;
            }
        } else if name != "Cargo.lock" {
            out.push(path);
        }
    }
    Ok(())
}

/// A file's text, or an error that names it.
pub fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The attendee's progress: the exercise they are on and those whose check passed, kept in
/// `workshop/attempts/progress.txt`, one `current <id>` line and `passed <id>` lines.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// The exercise `check`, `diff` and `next` work on.
    pub current: Option<String>,
    /// Exercises whose check has passed, in the order they passed.
    pub passed: Vec<String>,
}

impl Progress {
    fn file(paths: &Paths) -> PathBuf {
        paths.attempts.join("progress.txt")
    }

    /// Reads the progress file; none yet is no progress.
    pub fn load(paths: &Paths) -> Progress {
        let text = fs::read_to_string(Progress::file(paths)).unwrap_or_default();
        Progress::parse(&text)
    }

    fn parse(text: &str) -> Progress {
        let mut progress = Progress::default();
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("current", id)) => progress.current = Some(id.trim().to_string()),
                Some(("passed", id)) => progress.mark_passed(id.trim()),
                _ => {}
            }
        }
        progress
    }

    /// Records that `id`'s check passed.
    pub fn mark_passed(&mut self, id: &str) {
        if !self.passed.iter().any(|done| done == id) {
            self.passed.push(id.to_string());
        }
    }

    fn render(&self) -> String {
        let mut text = String::from(
            "# cargo workshop's progress: the exercise you are on, and those whose check passed.\n",
        );
        if let Some(id) = &self.current {
            text.push_str(&format!("current {id}\n"));
        }
        for id in &self.passed {
            text.push_str(&format!("passed {id}\n"));
        }
        text
    }

    /// Writes the progress file.
    pub fn save(&self, paths: &Paths) -> Result<(), String> {
        fs::create_dir_all(&paths.attempts)
            .map_err(|e| format!("cannot create {}: {e}", paths.attempts.display()))?;
        let file = Progress::file(paths);
        fs::write(&file, self.render()).map_err(|e| format!("cannot write {}: {e}", file.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `solve` and `prove` rely on it: the reference attempt is the stage, file for file,
    /// and an attempt with holes differs from it only inside the exercise's regions.
    #[test]
    fn the_reference_is_the_stage_and_holes_stay_inside_their_regions() {
        let paths = Paths::new();
        for exercise in crate::exercises::ALL {
            let stage = paths.stage(exercise);
            let reference = generate(&paths, exercise, Fill::Reference, "x").unwrap();
            let holes = generate(&paths, exercise, Fill::Hole, "x").unwrap();
            for ((path, text), (_, holed)) in reference.files.iter().zip(&holes.files) {
                if !(path.starts_with("src") || path.starts_with("tests")) {
                    continue;
                }
                assert_eq!(
                    *text,
                    read(&stage.join(path)).unwrap(),
                    "{}",
                    path.display()
                );
                let outside = |text: &str| {
                    let mut inside = false;
                    let mut kept = Vec::new();
                    for line in text.lines() {
                        let marker = line.contains("ANCHOR: exercise-")
                            || line.contains("ANCHOR_END: exercise-");
                        if line.contains(&format!("ANCHOR: exercise-{}-", exercise.id)) {
                            inside = true;
                        } else if line.contains(&format!("ANCHOR_END: exercise-{}-", exercise.id)) {
                            inside = false;
                        }
                        if !inside && !marker {
                            kept.push(line.to_string());
                        }
                    }
                    kept
                };
                assert_eq!(outside(text), outside(holed), "{}", path.display());
            }
        }
    }

    #[test]
    fn paths_in_the_attempts_config_are_toml_strings() {
        assert_eq!(toml_string(r"C:\a b\x"), r#""C:\\a b\\x""#);
        assert_eq!(toml_string("/a\"b"), r#""/a\"b""#);
    }

    #[test]
    fn progress_survives_a_round_trip_and_counts_a_pass_once() {
        let mut progress = Progress {
            current: Some("05a".into()),
            passed: vec!["01".into()],
        };
        progress.mark_passed("01");
        progress.mark_passed("02a");
        assert_eq!(Progress::parse(&progress.render()), progress);
        assert_eq!(progress.passed, ["01", "02a"]);
    }
}
