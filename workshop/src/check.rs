//! `check`: build an attempt, run its exercise's tests and its demo, and say what passes.

use std::path::Path;
use std::time::Duration;

use crate::attempt::{self, Paths};
use crate::exercises::Exercise;
use crate::process::{self, Outcome};
use crate::tests_doc;

/// A test binary run may take this long before it is stopped (the tests' own watchdogs turn a
/// hang into a failure well before).
pub const TEST_LIMIT: Duration = Duration::from_secs(600);
/// The demo must exit by itself within this long, as the book's checks ask of every stage.
const DEMO_LIMIT: Duration = Duration::from_secs(120);
/// Building may take this long (a first build compiles the dependencies).
const BUILD_LIMIT: Duration = Duration::from_secs(1200);

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// The test file, without `.rs`.
    pub file: String,
    /// The test function.
    pub name: String,
    /// Whether it reported `ok`. A test that did not report (its run was stopped) failed.
    pub passed: bool,
    /// What it printed when it failed: its panic message.
    pub output: String,
}

/// Everything a check found.
#[derive(Debug)]
pub struct Report {
    /// Whether the exercise's tests compiled.
    pub built: bool,
    /// One entry per selected test, in the exercise's order.
    pub tests: Vec<TestResult>,
    /// Whether the demo exited 0 in time (`None`: not run).
    pub demo: Option<bool>,
    /// What to say about a demo that failed.
    pub demo_failure: String,
}

impl Report {
    /// Every test passed and the demo exited 0.
    pub fn all_passed(&self) -> bool {
        self.built && self.tests.iter().all(|t| t.passed) && self.demo == Some(true)
    }
}

/// How verbose a check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voice {
    /// Tell the attendee everything.
    Attendee,
    /// Only a line per test (what `prove` prints).
    Quiet,
}

/// Runs the checks of `exercise` on the crate in `dir`.
///
/// `test_limit` bounds each test file's run; a test that has not reported by then has not
/// passed.
pub fn check(
    paths: &Paths,
    exercise: &Exercise,
    dir: &Path,
    voice: Voice,
    demo: bool,
    test_limit: Duration,
) -> Result<Report, String> {
    let manifest = dir.join("Cargo.toml");
    let manifest = manifest.to_str().ok_or("the attempt's path is not UTF-8")?;
    let target = paths
        .target
        .to_str()
        .ok_or("the target path is not UTF-8")?;
    let cargo = process::cargo();
    let mut report = Report {
        built: false,
        tests: Vec::new(),
        demo: None,
        demo_failure: String::new(),
    };

    // Build first, so a compile error is shown as one, not as failing tests. Then run the
    // test binaries and the demo directly, not through cargo: a run stopped at its deadline is
    // then one process to kill, on every system.
    let mut build = vec![
        "test",
        "--no-run",
        "--message-format=json-render-diagnostics",
        "--manifest-path",
        manifest,
        "--target-dir",
        target,
    ];
    for (file, _) in exercise.tests {
        build.extend(["--test", file]);
    }
    if voice == Voice::Attendee {
        println!("building {} (cargo test --no-run)…", dir.display());
    }
    let outcome = process::run(&cargo, &build, dir, BUILD_LIMIT)?;
    if outcome.success != Some(true) {
        println!("{}", outcome.stderr.trim_end());
        println!(
            "\nYour crate does not build yet: fix the errors above, then run `cargo workshop check` again."
        );
        return Ok(report);
    }
    report.built = true;
    let artifacts = executables(&outcome.stdout);

    for (file, names) in exercise.tests {
        let exe = artifacts
            .iter()
            .find(|(kind, name, _)| kind == "test" && name == file)
            .map(|(_, _, exe)| exe.as_str())
            .ok_or_else(|| format!("cargo built no test binary for tests/{file}.rs"))?;
        let mut args: Vec<&str> = names.to_vec();
        if !names.is_empty() {
            args.push("--exact");
        }
        if voice == Voice::Attendee {
            println!("running tests/{file}.rs (a test that hangs fails when its watchdog fires)");
        }
        let attendee = voice == Voice::Attendee;
        let outcome = process::run_echoing(exe, &args, dir, test_limit, move |line| {
            if attendee && line.starts_with("test ") && line.contains(" ... ") {
                println!("  {line}");
            }
        })?;
        let source = attempt::read(&dir.join("tests").join(format!("{file}.rs")))?;
        let wanted: Vec<String> = if names.is_empty() {
            tests_doc::test_names(&source)
        } else {
            names.iter().map(|n| n.to_string()).collect()
        };
        for name in wanted {
            let passed = reported(&outcome, &name) == Some(true);
            let output = if passed {
                String::new()
            } else {
                failure_output(&outcome, &name)
            };
            if voice == Voice::Quiet {
                println!(
                    "    [{}] {file}::{name}",
                    if passed { "ok" } else { "fail" }
                );
            }
            report.tests.push(TestResult {
                file: file.to_string(),
                name,
                passed,
                output,
            });
        }
    }

    if demo {
        let exe = artifacts
            .iter()
            .find(|(kind, _, _)| kind == "bin")
            .map(|(_, _, exe)| exe.as_str())
            .ok_or("cargo built no demo binary (src/main.rs)")?;
        let outcome = process::run(exe, &[], dir, DEMO_LIMIT)?;
        let passed = outcome.success == Some(true);
        report.demo = Some(passed);
        if voice == Voice::Quiet {
            let mark = if passed { "ok" } else { "fail" };
            let seconds = outcome.elapsed.as_secs_f64();
            println!("    [{mark}] demo (exited in {seconds:.1} s)");
        }
        if !passed {
            report.demo_failure = demo_failure(&outcome);
        }
    }
    if voice == Voice::Attendee {
        print_report(exercise, dir, &report)?;
    }
    Ok(report)
}

/// The executables cargo reported building, from its JSON messages: (target kind, target
/// name, path), e.g. (`test`, `timers`, `…/deps/timers-1a2b`) and (`bin`, `workshop-05a`, …).
fn executables(json_lines: &str) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for line in json_lines.lines() {
        if !line.contains("\"reason\":\"compiler-artifact\"") {
            continue;
        }
        let Some(exe) = json_string(line, "executable") else {
            continue;
        };
        let Some(target) = line.split_once("\"target\":{").map(|(_, t)| t) else {
            continue;
        };
        let kind = if target.starts_with("\"kind\":[\"test\"]") {
            "test"
        } else if target.starts_with("\"kind\":[\"bin\"]") {
            "bin"
        } else {
            continue;
        };
        if let Some(name) = json_string(target, "name") {
            found.push((kind.to_string(), name, exe));
        }
    }
    found
}

/// The string value of the first `"key":"…"` in a line of JSON, unescaped (`\\` and `\"`,
/// which is all a path or a target name holds).
fn json_string(text: &str, key: &str) -> Option<String> {
    let start = text.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let mut value = String::new();
    let mut chars = text[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => value.push(chars.next()?),
            c => value.push(c),
        }
    }
    None
}

/// `Some(true)` if the run printed `test NAME ... ok`, `Some(false)` for `FAILED`, `None` if
/// the test never reported (filtered out, or the run was stopped).
fn reported(outcome: &Outcome, name: &str) -> Option<bool> {
    let prefix = format!("test {name} ... ");
    outcome.stdout.lines().find_map(|line| {
        let rest = line.strip_prefix(&prefix)?;
        Some(rest.trim() == "ok")
    })
}

/// The captured output of a failed test: the lines after `---- NAME stdout ----`, up to the
/// next such header or the `failures:` list.
fn failure_output(outcome: &Outcome, name: &str) -> String {
    if outcome.success.is_none() {
        return "the test run did not finish in time and was stopped".to_string();
    }
    let header = format!("---- {name} stdout ----");
    let mut lines = outcome.stdout.lines().skip_while(|line| *line != header);
    if lines.next().is_none() {
        return stopped_early(outcome);
    }
    let body: Vec<&str> = lines
        .take_while(|line| !line.starts_with("---- ") && line.trim() != "failures:")
        .filter(|line| !line.starts_with("note: run with `RUST_BACKTRACE"))
        .collect();
    body.join("\n").trim().to_string()
}

/// What to say about a demo that did not exit 0 in time: the end of what it printed.
/// What to say about a test that never reported: the test binary ended first, most often
/// aborted by a panic inside a `drop` while another panic unwound (a `todo!()` in a `Drop`).
/// The last panics it printed say where.
fn stopped_early(outcome: &Outcome) -> String {
    let text = format!("{}\n{}", outcome.stdout, outcome.stderr);
    let lines: Vec<&str> = text.lines().collect();
    let mut panics = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if line.contains("panicked at") {
            panics.push(format!("{line}\n{}", lines.get(index + 1).unwrap_or(&"")));
        }
    }
    let start = panics.len().saturating_sub(2);
    let mut message = String::from(
        "the test binary stopped before this test reported (a panic inside a `drop` while\n\
         another panic unwinds aborts the whole process)",
    );
    if !panics.is_empty() {
        message.push_str("; its last panics:\n");
        message.push_str(&panics[start..].join("\n"));
    }
    message
}

fn demo_failure(outcome: &Outcome) -> String {
    match outcome.success {
        None => format!(
            "It did not exit within {} s: a task that never finishes, or a shutdown that waits for ever.",
            DEMO_LIMIT.as_secs()
        ),
        _ => {
            let tail: Vec<&str> = outcome.stderr.lines().rev().take(8).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            format!(
                "It failed; the end of what it printed:\n    {}",
                tail.join("\n    ")
            )
        }
    }
}

/// The files of the attempt that hold a region of `exercise` and a `#[cfg(test)]` module: the
/// unit tests the exercise's check leaves out, because they test private code.
fn unit_tested_files(exercise: &Exercise, dir: &Path) -> Result<Vec<String>, String> {
    let mut files = Vec::new();
    attempt::list_files(dir, Path::new("src"), &mut files)?;
    let mut found = Vec::new();
    for path in files {
        let text = attempt::read(&dir.join(&path))?;
        let lines: Vec<&str> = text.lines().collect();
        let has_region = crate::regions::find(&lines)
            .map(|regions| regions.iter().any(|r| r.exercise == exercise.id))
            .unwrap_or(false);
        if has_region && text.contains("#[cfg(test)]") {
            found.push(path.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(found)
}

fn print_report(exercise: &Exercise, dir: &Path, report: &Report) -> Result<(), String> {
    println!("\nExercise {}: {}", exercise.id, exercise.title);
    let mut lessons_ok = Vec::new();
    let mut lessons_failing = Vec::new();
    let mut first_failure = None;
    let mut file = "";
    for test in &report.tests {
        if test.file != file {
            file = &test.file;
            println!("  tests/{file}.rs");
        }
        let source = attempt::read(&dir.join("tests").join(format!("{}.rs", test.file)))?;
        let doc = tests_doc::describe(&source, &test.name);
        let lessons = tests_doc::lessons(&doc);
        if test.passed {
            lessons_ok.extend(lessons);
        } else {
            lessons_failing.extend(lessons);
            first_failure.get_or_insert((test, doc.clone()));
        }
        println!(
            "    [{}] {} — {}",
            if test.passed { "ok" } else { "fail" },
            test.name,
            tests_doc::first_sentence(&doc)
        );
    }
    if let Some(demo) = report.demo {
        println!(
            "  [{}] the demo (cargo run) exits by itself with status 0",
            if demo { "ok" } else { "fail" }
        );
    }
    lessons_ok.retain(|lesson| !lessons_failing.contains(lesson));
    lessons_ok.sort_unstable();
    lessons_ok.dedup();
    lessons_failing.sort_unstable();
    lessons_failing.dedup();
    let list = |lessons: &[u32]| {
        lessons
            .iter()
            .map(|n| format!("#{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !lessons_ok.is_empty() {
        println!(
            "  lessons these tests guard, passing: {}",
            list(&lessons_ok)
        );
    }
    if !lessons_failing.is_empty() {
        println!(
            "  lessons not passing yet: {} (book: appendix-bugs.md)",
            list(&lessons_failing)
        );
    }
    let unit_tested = unit_tested_files(exercise, dir)?;
    if unit_tested.is_empty() {
        println!("  the files you write in have no unit tests: these tests are all there is.");
    } else {
        println!(
            "  not checked here: the unit tests in {}, which test private code (your names may\n  \
             differ from the stage's); once this is green, `cargo test --lib` in {} runs them.",
            unit_tested.join(", "),
            dir.display()
        );
    }
    if let Some((test, doc)) = first_failure {
        println!(
            "\nFirst failing test: tests/{}.rs, {}",
            test.file, test.name
        );
        println!("  What it checks: {doc}");
        if !test.output.is_empty() {
            println!("  What it said:");
            for line in test.output.lines().take(12) {
                println!("    {line}");
            }
        }
        println!(
            "  Re-read: chapter {}, \"{}\" (book/src/{})",
            exercise.chapter(),
            exercise.section,
            exercise.section_link()
        );
    } else if report.demo == Some(false) {
        println!(
            "\nThe demo (cargo run in {}): {}",
            dir.display(),
            report.demo_failure
        );
    } else if report.all_passed() {
        println!(
            "\nAll green. `cargo workshop diff` compares your code with the stage's; `cargo workshop next` goes on."
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(stdout: &str) -> Outcome {
        Outcome {
            success: Some(false),
            stdout: stdout.to_string(),
            stderr: String::new(),
            elapsed: Duration::ZERO,
        }
    }

    const RUN: &str = "running 2 tests\ntest a ... ok\ntest b ... FAILED\n\nfailures:\n\n---- b stdout ----\n\nthread 'b' panicked at src/x.rs:1:5:\nnot yet implemented: 01: hint\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\nfailures:\n    b\n";

    #[test]
    fn results_and_panic_messages_are_read_from_libtest_output() {
        let run = outcome(RUN);
        assert_eq!(reported(&run, "a"), Some(true));
        assert_eq!(reported(&run, "b"), Some(false));
        assert_eq!(reported(&run, "c"), None);
        assert_eq!(
            failure_output(&run, "b"),
            "thread 'b' panicked at src/x.rs:1:5:\nnot yet implemented: 01: hint"
        );
    }

    #[test]
    fn executables_are_read_from_cargos_json_messages() {
        let json = concat!(
            r#"{"reason":"compiler-artifact","package_id":"p","manifest_path":"C:\\a\\Cargo.toml","target":{"kind":["lib"],"crate_types":["lib"],"name":"runtime"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","package_id":"p","target":{"kind":["test"],"crate_types":["bin"],"name":"timers","src_path":"x"},"executable":"C:\\t\\deps\\timers-1.exe","fresh":true}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"crate_types":["bin"],"name":"workshop-05a"},"executable":"/t/debug/workshop-05a"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        assert_eq!(
            executables(json),
            [
                (
                    "test".into(),
                    "timers".into(),
                    r"C:\t\deps\timers-1.exe".into()
                ),
                (
                    "bin".into(),
                    "workshop-05a".into(),
                    "/t/debug/workshop-05a".into()
                ),
            ]
        );
    }

    #[test]
    fn a_test_that_never_reported_shows_the_last_panics() {
        let mut run = outcome("running 2 tests\n");
        run.stderr = "thread 'a' panicked at src/x.rs:1:5:\nnot yet implemented: 03: one\n\
                      thread 'a' panicked at src/time.rs:9:9:\nnot yet implemented: 03: two\n"
            .to_string();
        let said = failure_output(&run, "a");
        assert!(said.starts_with("the test binary stopped"), "{said}");
        assert!(
            said.ends_with("src/time.rs:9:9:\nnot yet implemented: 03: two"),
            "{said}"
        );
    }

    #[test]
    fn a_stopped_run_says_so() {
        let mut run = outcome("running 1 test\n");
        run.success = None;
        assert!(failure_output(&run, "a").contains("stopped"));
    }
}
