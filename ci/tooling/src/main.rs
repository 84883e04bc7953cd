//! `tooling`: the project's own checks and generators. See `tooling --help`.

use std::path::PathBuf;
use std::process::ExitCode;

use tooling::{diffs, figures, files, html, includes, lessons, outputs, timelines};

const USAGE: &str = "\
usage: cargo run -q -p tooling -- [--root DIR] <command>

commands:
  diffs            regenerate book/src/diffs/NN-slug.diff, the diff of every step folder
                   against the previous one, and book/src/diffs/runtime.diff, the last step
                   folder against runtime/ (ANCHOR marker lines removed), each with
                   NN-slug.stat, its one-line summary
  diffs --check    fail if a committed diff is stale, missing or extra; writes nothing
  outputs          build and run every step's demo (each must exit 0 within 120 s) and write
                   what it prints, normalised, to book/src/outputs/NN-slug.txt
  outputs --check  the same, but fail if a committed output is stale, missing or extra;
                   writes nothing
  figures          regenerate book/src/bench/stage-NN.md, the tables that compare stages 7
                   to 10 with the stage before, from book/src/bench/results.md
  figures --check  fail if a benchmark figure quoted in the book is not in
                   book/src/bench/results.md, or a stage-NN.md table is stale
  timelines [NAME...]  record the runs behind the chapters' timeline figures (`--trace
                   FILE`) and draw book/src/figures/timeline-*.svg from them (only NAME...,
                   e.g. timeline-04-workers, if given)
  timelines --check  record them again and fail if a figure's shape (its tracks, the kinds
                   of event its caption needs) differs from the committed one; writes nothing
  check-includes   check every {{#include}} / {{#rustdoc_include}} in book/src/**/*.md
  check-lessons    check that every `lesson #N` in book/src is a link to its entry in
                   appendix-bugs.md, and that the entry exists
  check-html       check that the built book (book/book/**/*.html) has no unexpanded {{#

--root DIR         the repository root (default: found from the current folder upwards)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tooling: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let mut root = None;
    let mut rest = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--root" => {
                let dir = args.next().ok_or("--root needs a folder")?;
                root = Some(PathBuf::from(dir));
            }
            "-h" | "--help" | "help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => rest.push(arg.as_str()),
        }
    }
    let root = match root {
        Some(dir) => {
            let cwd = std::env::current_dir()
                .map_err(|e| format!("cannot read the current folder: {e}"))?;
            files::normalize(&cwd.join(dir))
        }
        None => files::find_root()?,
    };
    match rest.as_slice() {
        ["diffs"] => {
            for line in diffs::write_all(&root)? {
                println!("{line}");
            }
            Ok(())
        }
        ["diffs", "--check"] => {
            let (count, problems) = diffs::check_all(&root)?;
            fail_on(
                &problems,
                "the step diffs are out of date; regenerate them with `ci/diffs` \
                 (or `cargo run -q -p tooling -- diffs`) and commit book/src/diffs",
            )?;
            println!("diffs: all {count} up to date in {}", diffs::DIFFS_DIR);
            Ok(())
        }
        ["outputs"] => {
            let generated = outputs::generate(&root, &mut |line| println!("{line}"))?;
            for line in outputs::write_all(&root, &generated)? {
                println!("{line}");
            }
            Ok(())
        }
        ["outputs", "--check"] => {
            let generated = outputs::generate(&root, &mut |line| println!("{line}"))?;
            let problems = outputs::check_all(&root, &generated)?;
            fail_on(
                &problems,
                "the demo outputs the book shows are out of date; regenerate them with \
                 `ci/outputs` (or `cargo run -q -p tooling -- outputs`), re-read the \
                 chapters' \"Run it\" sections against them, and commit book/src/outputs",
            )?;
            println!(
                "outputs: all {} demos exited with status 0, and their outputs are up to date in {}",
                generated.len(),
                outputs::OUTPUTS_DIR
            );
            Ok(())
        }
        ["figures"] => {
            for line in figures::write_tables(&root)? {
                println!("{line}");
            }
            Ok(())
        }
        ["figures", "--check"] => {
            let (count, problems) = figures::check_book(&root)?;
            fail_on(
                &problems,
                "the book quotes benchmark figures that are not in the committed results",
            )?;
            println!(
                "figures: all {count} figures quoted in {} pages are in {}",
                figures::PAGES.len(),
                figures::RESULTS
            );
            Ok(())
        }
        ["timelines", only @ ..] if !only.contains(&"--check") => {
            for line in timelines::write_all(&root, only)? {
                println!("{line}");
            }
            Ok(())
        }
        ["timelines", "--check"] => {
            let (count, problems) = timelines::check_all(&root)?;
            fail_on(
                &problems,
                "a timeline figure's shape changed; regenerate them with \
                 `cargo run -q -p tooling -- timelines`, re-read their captions, and commit",
            )?;
            println!("timelines: all {count} figures have the shape a new run has");
            Ok(())
        }
        ["check-includes"] => {
            let (count, problems) = includes::check_book(&root, &root.join("book/src"))?;
            fail_on(
                &problems,
                "some book includes do not resolve or break the rules",
            )?;
            println!("includes: all {count} resolve");
            Ok(())
        }
        ["check-lessons"] => {
            let (count, problems) = lessons::check_book(&root, &root.join("book/src"))?;
            fail_on(&problems, "some lessons are not links to the bugs appendix")?;
            for (page, why) in lessons::NOT_YET {
                println!("lessons: not checked yet: book/src/{page} ({why})");
            }
            println!("lessons: every lesson #N in {count} pages links to its entry");
            Ok(())
        }
        ["check-html"] => {
            let (count, problems) = html::check_built_book(&root, &root.join("book/book"))?;
            fail_on(
                &problems,
                "the built book has includes mdBook did not expand",
            )?;
            println!("built book: no unexpanded {{{{# in {count} pages");
            Ok(())
        }
        _ => Err(format!("unknown command {:?}\n\n{USAGE}", rest.join(" "))),
    }
}

/// Prints the problems, one per line, and fails with `summary` if there are any.
fn fail_on(problems: &[String], summary: &str) -> Result<(), String> {
    if problems.is_empty() {
        return Ok(());
    }
    for problem in problems {
        eprintln!("{problem}");
    }
    Err(format!("{} problem(s): {summary}", problems.len()))
}
