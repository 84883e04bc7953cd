//! `prove`: every exercise, both ways, through the same code as `start` and `check`. With its
//! holes, the crate builds and none of the exercise's tests passes: the holes matter. With
//! the stage's own regions put back, `check` passes, demo included. It also checks what the
//! exercise's metadata names: the section heading exists, the tests exist, and the exercise is
//! not more than [`MAX_LINES`] lines to write.

use std::fs;
use std::time::{Duration, Instant};

use crate::attempt::{self, Paths};
use crate::check::{self, Voice};
use crate::exercises::{self, Exercise};
use crate::regions::Fill;
use crate::tests_doc;

/// The most lines one exercise may ask for: more is more than one sitting.
pub const MAX_LINES: usize = 120;

/// How long a test file may run with the holes in: tests that hang (a worker thread that hit a
/// `todo!()` never finishes its tasks) would otherwise wait for their watchdogs.
const HOLES_LIMIT: Duration = Duration::from_secs(20);

/// Proves the exercises named by `ids`, or all of them.
pub fn prove(paths: &Paths, ids: &[&str]) -> Result<bool, String> {
    let chosen: Vec<&Exercise> = if ids.is_empty() {
        exercises::ALL.iter().collect()
    } else {
        ids.iter()
            .map(|id| exercises::find(id).ok_or_else(|| format!("no exercise `{id}`")))
            .collect::<Result<_, _>>()?
    };
    let mut problems = Vec::new();
    for exercise in chosen {
        let started = Instant::now();
        println!("==> {}: {}", exercise.id, exercise.title);
        for problem in prove_one(paths, exercise)? {
            println!("    PROBLEM: {problem}");
            problems.push(format!("{}: {problem}", exercise.id));
        }
        println!("    ({:.0} s)", started.elapsed().as_secs_f64());
    }
    if problems.is_empty() {
        println!("every exercise proved both ways");
        Ok(true)
    } else {
        println!("\n{} problem(s):\n{}", problems.len(), problems.join("\n"));
        Ok(false)
    }
}

/// What is wrong with an exercise's metadata and regions, found without building anything:
/// the section heading, the tests it names, its regions and its size.
pub fn metadata_problems(paths: &Paths, exercise: &Exercise) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    let chapter = attempt::read(
        &paths
            .root
            .join("book/src")
            .join(format!("{}.md", exercise.stage)),
    )?;
    let heading_found = chapter.lines().any(|line| {
        line.starts_with('#') && line.trim_start_matches('#').trim() == exercise.section
    });
    if !heading_found {
        problems.push(format!(
            "no heading \"{}\" in book/src/{}.md",
            exercise.section, exercise.stage
        ));
    }
    for (file, names) in exercise.tests {
        let source = attempt::read(
            &paths
                .stage(exercise)
                .join("tests")
                .join(format!("{file}.rs")),
        )?;
        let present = tests_doc::test_names(&source);
        for name in names
            .iter()
            .filter(|name| !present.iter().any(|p| p == *name))
        {
            problems.push(format!("no test `{name}` in tests/{file}.rs"));
        }
    }
    let generated = attempt::generate(paths, exercise, Fill::Hole, &exercise.package())?;
    if generated.lines_to_write > MAX_LINES {
        problems.push(format!(
            "{} lines to write, more than {MAX_LINES}: split it",
            generated.lines_to_write
        ));
    }
    Ok(problems)
}

fn prove_one(paths: &Paths, exercise: &Exercise) -> Result<Vec<String>, String> {
    let mut problems = metadata_problems(paths, exercise)?;
    for fill in [Fill::Hole, Fill::Reference] {
        let label = if fill == Fill::Hole {
            "holes"
        } else {
            "reference"
        };
        let package = format!("{}-{label}", exercise.package());
        let generated = attempt::generate(paths, exercise, fill, &package)?;
        let dir = paths
            .target
            .join("prove")
            .join(format!("{}-{label}", exercise.id));
        if dir.exists() {
            fs::remove_dir_all(&dir)
                .map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
        }
        attempt::write(&dir, &generated)?;
        println!(
            "  with the {label} ({} lines to write):",
            generated.lines_to_write
        );
        // With holes, a test that hangs until its watchdog fails it is as good as failed:
        // stop waiting after HOLES_LIMIT, and count what has not reported as not passing.
        let (demo, limit) = match fill {
            Fill::Hole => (false, HOLES_LIMIT),
            Fill::Reference => (true, check::TEST_LIMIT),
        };
        let report = check::check(paths, exercise, &dir, Voice::Quiet, demo, limit)?;
        match fill {
            Fill::Hole if !report.built => {
                problems.push("with its holes, it does not build".into())
            }
            Fill::Hole => {
                for test in report.tests.iter().filter(|t| t.passed) {
                    problems.push(format!(
                        "with its holes, {}::{} passes: it does not check this exercise",
                        test.file, test.name
                    ));
                }
            }
            Fill::Reference if !report.all_passed() => {
                problems.push("with the reference regions, the check does not pass".into())
            }
            Fill::Reference => {}
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every exercise names a heading its chapter has and tests its stage has, has regions
    /// (each with a hint, none left open), and is at most MAX_LINES to write. The builds and
    /// test runs are `prove`'s, in ci/test.
    #[test]
    fn every_exercise_is_well_formed() {
        let paths = Paths::new();
        for exercise in exercises::ALL {
            let problems = metadata_problems(&paths, exercise).unwrap();
            assert!(problems.is_empty(), "{}: {problems:?}", exercise.id);
        }
    }

    /// A region of an id the list does not have would be code no exercise asks for.
    #[test]
    fn every_region_belongs_to_a_listed_exercise() {
        let paths = Paths::new();
        for stage in fs::read_dir(paths.root.join("steps")).unwrap() {
            let stage = stage.unwrap().path();
            let mut files = Vec::new();
            attempt::list_files(&stage, "src".as_ref(), &mut files).unwrap();
            for file in files {
                let text = attempt::read(&stage.join(&file)).unwrap();
                let lines: Vec<&str> = text.lines().collect();
                for region in crate::regions::find(&lines).unwrap() {
                    let listed = exercises::ALL
                        .iter()
                        .any(|e| e.id == region.exercise && stage.ends_with(e.stage));
                    assert!(
                        listed,
                        "{}: {} is in no exercise",
                        file.display(),
                        region.name
                    );
                }
            }
        }
    }
}
