//! `cargo workshop`: write each stage's idea yourself, checked by the stage's own tests.
//!
//! An exercise is a stage of the book with the code that carries its idea cut out: marked
//! regions of the stage's source (`regions`), replaced by `todo!()`s that name what to write
//! and the section to read. `start` writes that crate into `workshop/attempts/<id>/`; `check`
//! runs the stage's public-API tests that check the exercise, and its demo.

mod attempt;
mod book;
mod check;
mod diff;
mod exercises;
mod manifest;
mod process;
mod prove;
mod regions;
mod tests_doc;

use std::fs;
use std::process::ExitCode;

use attempt::{Paths, Progress};
use check::Voice;
use exercises::Exercise;
use regions::Fill;

const USAGE: &str = "\
usage: cargo workshop <command>

  list            the stages and their exercises, the time each should take, your progress
  start NN[x]     start exercise NN[x] (e.g. 01, 05a): writes workshop/attempts/NN[x]/, the
                  stage with the exercise's code cut out; each hole is a todo!() that says
                  what to write and which section of the book to read
  check [NN[x]]   build your attempt, run the exercise's tests and the stage's demo, and say
                  what passes; for the first failing test, what it checks and what to re-read
  diff [NN[x]]    your code against the stage's, as a diff
  next            start the exercise after the current one
  reset [NN[x]]   start the exercise over (your attempt is kept as workshop/attempts/NN[x].old)
  solve [NN[x]]   put the stage's own code into the attempt (for instructors, and to move on)

for the checks of the project itself:
  prove [NN[x]…]  prove each exercise both ways: with its holes it builds and its tests fail;
                  with the reference regions it passes `check`
  book [--check]  write (or check) book/src/exercises/NN-slug.md, the exercise box of each
                  chapter";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("cargo workshop: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command; `Ok(false)` is a check that did not pass.
fn run(args: &[&str]) -> Result<bool, String> {
    let paths = Paths::new();
    match args {
        [] | ["list"] => list(&paths),
        ["start", id] => start(&paths, exercise(id)?),
        ["check"] => check(&paths, current(&paths)?),
        ["check", id] => check(&paths, exercise(id)?),
        ["diff"] => diff::show(&paths, current(&paths)?),
        ["diff", id] => diff::show(&paths, exercise(id)?),
        ["next"] => next(&paths),
        ["reset"] => reset(&paths, current(&paths)?),
        ["reset", id] => reset(&paths, exercise(id)?),
        ["solve"] => solve(&paths, current(&paths)?),
        ["solve", id] => solve(&paths, exercise(id)?),
        ["prove", ids @ ..] => prove::prove(&paths, ids),
        ["book"] => book::write(&paths),
        ["book", "--check"] => book::check(&paths),
        ["help" | "-h" | "--help"] => {
            println!("{USAGE}");
            Ok(true)
        }
        _ => Err(format!("unknown command `{}`\n\n{USAGE}", args.join(" "))),
    }
}

fn exercise(id: &str) -> Result<&'static Exercise, String> {
    exercises::find(id).ok_or_else(|| {
        let ids: Vec<&str> = exercises::ALL.iter().map(|e| e.id).collect();
        format!("no exercise `{id}`; there are {}", ids.join(", "))
    })
}

fn current(paths: &Paths) -> Result<&'static Exercise, String> {
    match Progress::load(paths).current {
        Some(id) => exercise(&id),
        None => Err("no exercise started yet: `cargo workshop start 01`".to_string()),
    }
}

fn list(paths: &Paths) -> Result<bool, String> {
    let progress = Progress::load(paths);
    println!("exercise  stage               lines  minutes  title");
    let mut total = 0;
    for exercise in exercises::ALL {
        let generated = attempt::generate(paths, exercise, Fill::Reference, &exercise.package())?;
        let minutes = Exercise::estimate_minutes(generated.lines_to_write);
        total += minutes;
        let mark = if progress.current.as_deref() == Some(exercise.id) {
            "> "
        } else if progress.passed.iter().any(|id| id == exercise.id) {
            "✓ "
        } else {
            "  "
        };
        println!(
            "{mark}{:<8}{:<20}{:>5}{:>9}  {}",
            exercise.id, exercise.stage, generated.lines_to_write, minutes, exercise.title
        );
    }
    println!(
        "\n> the exercise you are on; ✓ its check passed. {} of {} done.\n\
         lines: lines of the stage's code you write; minutes: an estimate (10 to read, 1 a line),\n\
         not yet timed by doing it. Total: {} min.\n\
         Start with `cargo workshop start 01`.",
        progress.passed.len(),
        exercises::ALL.len(),
        total
    );
    Ok(true)
}

fn start(paths: &Paths, exercise: &Exercise) -> Result<bool, String> {
    let dir = paths.attempt(exercise);
    let mut progress = Progress::load(paths);
    progress.current = Some(exercise.id.to_string());
    if dir.exists() {
        progress.save(paths)?;
        println!(
            "{} is already started, in {}: go on there (`cargo workshop reset` starts it over).",
            exercise.id,
            dir.display()
        );
        return Ok(true);
    }
    let generated = attempt::generate(paths, exercise, Fill::Hole, &exercise.package())?;
    attempt::write(&dir, &generated)?;
    progress.save(paths)?;
    println!("Exercise {}: {}", exercise.id, exercise.title);
    println!(
        "  your crate: {}\n  \
         {} hole(s) to fill, {} lines in the stage: search for `todo!(\"{}:` in src/\n  \
         read first: chapter {}, \"{}\" (book/src/{})\n  \
         then: `cargo workshop check`, until it is green",
        dir.display(),
        generated.regions,
        generated.lines_to_write,
        exercise.id,
        exercise.chapter(),
        exercise.section,
        exercise.section_link()
    );
    Ok(true)
}

fn check(paths: &Paths, exercise: &Exercise) -> Result<bool, String> {
    let dir = paths.attempt(exercise);
    if !dir.exists() {
        return Err(format!(
            "{} is not started: `cargo workshop start {}`",
            exercise.id, exercise.id
        ));
    }
    let report = check::check(
        paths,
        exercise,
        &dir,
        Voice::Attendee,
        true,
        check::TEST_LIMIT,
    )?;
    if report.all_passed() {
        let mut progress = Progress::load(paths);
        progress.mark_passed(exercise.id);
        progress.save(paths)?;
    }
    Ok(report.all_passed())
}

fn next(paths: &Paths) -> Result<bool, String> {
    let progress = Progress::load(paths);
    let at = match &progress.current {
        Some(id) => exercises::ALL
            .iter()
            .position(|e| e.id == id)
            .map_or(0, |i| i + 1),
        None => 0,
    };
    match exercises::ALL.get(at) {
        Some(exercise) => start(paths, exercise),
        None => {
            println!(
                "That was the last exercise. The runtime/ crate is the finished one: read chapter \"The runtime\"."
            );
            Ok(true)
        }
    }
}

fn reset(paths: &Paths, exercise: &Exercise) -> Result<bool, String> {
    keep_old(paths, exercise)?;
    start(paths, exercise)
}

/// Moves an existing attempt aside, to `<id>.old` (replacing an older one), so that starting
/// over or solving never loses the attendee's work.
fn keep_old(paths: &Paths, exercise: &Exercise) -> Result<(), String> {
    let dir = paths.attempt(exercise);
    if dir.exists() {
        let old = paths.attempts.join(format!("{}.old", exercise.id));
        if old.exists() {
            fs::remove_dir_all(&old)
                .map_err(|e| format!("cannot remove {}: {e}", old.display()))?;
        }
        fs::rename(&dir, &old).map_err(|e| format!("cannot move {}: {e}", dir.display()))?;
        println!("your attempt is kept as {}", old.display());
    }
    Ok(())
}

fn solve(paths: &Paths, exercise: &Exercise) -> Result<bool, String> {
    keep_old(paths, exercise)?;
    let dir = paths.attempt(exercise);
    let generated = attempt::generate(paths, exercise, Fill::Reference, &exercise.package())?;
    attempt::write(&dir, &generated)?;
    let mut progress = Progress::load(paths);
    progress.current = Some(exercise.id.to_string());
    progress.save(paths)?;
    println!(
        "{} now holds the stage's own code: `cargo workshop check` passes.",
        dir.display()
    );
    Ok(true)
}
