//! The demo outputs the book shows: `book/src/outputs/NN-slug.txt` is what `cargo run -p
//! step-NN` prints on standard output, with what changes from run to run normalised.
//!
//! Each step's demo is built with `cargo build -p step-NN` (one package at a time: every
//! stage's library is named `runtime`, and building two at once makes cargo warn that their
//! `libruntime` files collide), then its executable is run directly from the repository root,
//! with a time limit, and must exit with status 0. Standard error is shown only when the demo
//! fails.
//!
//! Every demo prints the same lines on Linux, macOS and Windows (stages 3, 9 and 10 read the
//! figures they print through each system's own calls), so the outputs are compared, and
//! can be regenerated, on any of them. Lines are read with `str::lines`: a `\r\n` ending
//! counts as `\n`.
//!
//! What varies is replaced line by line, by rules written per step in [`rules`]: a pattern
//! in which `{n}` stands for a number (with the spaces before it), and what to put in its
//! place. A measured duration or rate becomes `…`; stage 1's times, whose lesson is the 300 ms
//! wait itself, are rounded to 100 ms instead, a step far larger than the jitter. Addresses
//! lose their port number everywhere.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::diffs::step_names;
use crate::files;

/// Where the generated outputs live, relative to the repository root.
pub const OUTPUTS_DIR: &str = "book/src/outputs";

/// How long a demo may run before it is stopped and counted as failed.
pub const TIME_LIMIT: Duration = Duration::from_secs(120);

/// How one kind of varying text is normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Every match of the pattern becomes the replacement, in which `{n}` stands for nothing
    /// (the number is cut): `Cut("in {n} ms", "in … ms")`.
    Cut(&'static str, &'static str),
    /// Every number matched by `{n}` in the pattern is rounded to the nearest multiple of the
    /// step, keeping the width it was printed with: `Round("{n} ms", 100)`.
    Round(&'static str, u64),
}

/// The rules for the demo of step `number` (1 for `01-block-on`), in the order they apply.
/// Every step also loses its port numbers (see [`normalize`]).
pub fn rules(number: u32) -> Vec<Rule> {
    let cut_times = [
        Rule::Cut("in {n} ms", "in … ms"),
        Rule::Cut(
            "that is {n} round trips per second",
            "that is … round trips per second",
        ),
        // "7 times", or "1 time": both become "… times".
        Rule::Cut("went to sleep {n} times", "went to sleep … times"),
        Rule::Cut("went to sleep {n} time", "went to sleep … times"),
        Rule::Cut(
            "awaited: {n} ms, {n} ns per task",
            "awaited: … ms, … ns per task",
        ),
        Rule::Cut(
            "yields: {n} ms, {n} ns per task switch",
            "yields: … ms, … ns per task switch",
        ),
    ];
    match number {
        // The wait is the lesson: 0, then 300 ms. Rounded to 100 ms.
        1 => vec![Rule::Round("{n} ms  ", 100)],
        // The order of the wakes is the lesson; their times, a few milliseconds after each
        // deadline, can be tens of milliseconds late on a loaded machine: cut, like the CPU
        // time.
        3 => vec![
            Rule::Cut("using {n} ms of CPU time", "using … ms of CPU time"),
            Rule::Cut("woke at {n} ms", "woke at … ms"),
            Rule::Cut("Waited {n} ms", "Waited … ms"),
        ],
        // The machine's core count, which thread ran which task, and the wall times.
        4 => vec![
            Rule::Cut("{n} worker threads", "N worker threads"),
            Rule::Cut("runtime-worker-{n}", "runtime-worker-N"),
            Rule::Cut("one thread: {n} ms", "one thread: … ms"),
            Rule::Cut("tasks on {n} workers: {n} ms", "tasks on N workers: … ms"),
            Rule::Cut("speed-up: {n}x", "speed-up: …x"),
            Rule::Cut("with {n} idle cores", "with N idle cores"),
            Rule::Cut("to {n}x;", "to Nx;"),
        ],
        _ => cut_times.to_vec(),
    }
}

/// `line` with every address's port replaced by `PORT` (`127.0.0.1:41234` becomes
/// `127.0.0.1:PORT`), then every rule applied in turn.
pub fn normalize(line: &str, rules: &[Rule]) -> String {
    let mut line = cut_ports(line);
    for rule in rules {
        line = apply(&line, *rule);
    }
    line
}

/// Replaces the digits after `127.0.0.1:` and `[::1]:` with `PORT`.
fn cut_ports(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    loop {
        let found = ["127.0.0.1:", "[::1]:"]
            .iter()
            .filter_map(|host| rest.find(host).map(|at| (at, host.len())))
            .min();
        let Some((at, len)) = found else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at + len]);
        rest = &rest[at + len..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push_str("PORT");
            rest = &rest[digits..];
        }
    }
}

/// A match of a pattern in a line: where it starts and ends, and the numbers its `{n}` holes
/// matched, each as (start, end) in the line, spaces before the number included.
type Match = (usize, usize, Vec<(usize, usize)>);

/// The first match of `pattern` in `line` at or after byte `from`.
fn find(line: &str, pattern: &str, from: usize) -> Option<Match> {
    let pieces: Vec<&str> = pattern.split("{n}").collect();
    let mut start = from;
    while start <= line.len() {
        if let Some(found) = match_at(line, &pieces, start) {
            return Some(found);
        }
        start += line[start..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// Matches the pieces of a pattern (literal text with a number between each two) exactly at
/// byte `start`.
fn match_at(line: &str, pieces: &[&str], start: usize) -> Option<Match> {
    let mut at = start;
    let mut holes = Vec::new();
    for (index, piece) in pieces.iter().enumerate() {
        if index > 0 {
            let hole = at;
            at += line[at..].len() - line[at..].trim_start_matches(' ').len();
            let digits = line[at..]
                .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
                .unwrap_or(line.len() - at);
            if !line[at..].starts_with(|c: char| c.is_ascii_digit()) {
                return None;
            }
            // A trailing `.` or `,` ends a sentence, not the number.
            let number = line[at..at + digits].trim_end_matches(['.', ',']);
            at += number.len();
            holes.push((hole, at));
        }
        if !line[at..].starts_with(piece) {
            return None;
        }
        at += piece.len();
    }
    Some((start, at, holes))
}

/// `line` with every match of the rule's pattern replaced.
fn apply(line: &str, rule: Rule) -> String {
    let pattern = match rule {
        Rule::Cut(pattern, _) | Rule::Round(pattern, _) => pattern,
    };
    let mut out = String::new();
    let mut done = 0;
    while let Some((start, end, holes)) = find(line, pattern, done) {
        if end == start {
            break;
        }
        out.push_str(&line[done..start]);
        match rule {
            Rule::Cut(_, replacement) => out.push_str(replacement),
            Rule::Round(_, step) => {
                let mut at = start;
                for (from, to) in holes {
                    out.push_str(&line[at..from]);
                    let text = &line[from..to];
                    let value: f64 = text.trim().replace(',', "").parse().unwrap_or(0.0);
                    let rounded = ((value / step as f64).round() as u64) * step;
                    out.push_str(&format!("{rounded:>width$}", width = text.len()));
                    at = to;
                }
                out.push_str(&line[at..end]);
            }
        }
        done = end;
    }
    out.push_str(&line[done..]);
    out
}

/// The output of one demo: which step, and the normalised text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOutput {
    /// The step folder's name, e.g. `05-reactor`.
    pub step: String,
    /// The normalised standard output.
    pub text: String,
}

impl DemoOutput {
    /// The output's file name under [`OUTPUTS_DIR`]: `05-reactor.txt`.
    pub fn file_name(&self) -> String {
        format!("{}.txt", self.step)
    }
}

/// The executable `cargo build --message-format=json` reports for `package`.
fn build(root: &Path, package: &str) -> Result<PathBuf, String> {
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root)
        .args([
            "build",
            "-q",
            "--locked",
            "--message-format=json",
            "-p",
            package,
        ])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo to build {package}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo build -p {package}` failed ({})",
            output.status
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .filter(|line| line.contains("\"reason\":\"compiler-artifact\""))
        .find_map(|line| json_string(line, "executable"))
        .map(PathBuf::from)
        .ok_or_else(|| format!("`cargo build -p {package}` reported no executable"))
}

/// The string value of `"key":"..."` in one line of JSON, unescaped; `None` if it is absent
/// or not a string (`"executable":null`).
fn json_string(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let mut value = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

/// Runs `program` from `root` with a time limit; returns its standard output if it exits
/// with status 0.
fn run_with_limit(root: &Path, program: &Path, name: &str) -> Result<String, String> {
    let mut child = Command::new(program)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let read = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = read(Box::new(child.stdout.take().ok_or("no stdout pipe")?));
    let stderr = read(Box::new(child.stderr.take().ok_or("no stderr pipe")?));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("cannot wait for {name}'s demo: {e}")),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    match status {
        Some(status) if status.success() => Ok(stdout),
        Some(status) => Err(format!(
            "{name}'s demo exited with {status}; its output:\n{stdout}{stderr}"
        )),
        None => Err(format!(
            "{name}'s demo ran for more than {} s and was stopped; its output:\n{stdout}{stderr}",
            TIME_LIMIT.as_secs()
        )),
    }
}

/// The number of a step folder: 5 for `05-reactor`.
fn step_number(step: &str) -> u32 {
    step[..2].parse().unwrap_or(0)
}

/// Builds and runs every step's demo, one after the other, and normalises what it printed.
/// `progress` is called with a line before each demo runs.
pub fn generate(root: &Path, progress: &mut dyn FnMut(&str)) -> Result<Vec<DemoOutput>, String> {
    let mut outputs = Vec::new();
    for step in step_names(root)? {
        let package = format!("step-{}", &step[..2]);
        progress(&format!("--- {package} (steps/{step})"));
        let program = build(root, &package)?;
        let raw = run_with_limit(root, &program, &package)?;
        let rules = rules(step_number(&step));
        let mut text = String::new();
        for line in raw.lines() {
            text.push_str(normalize(line, &rules).trim_end());
            text.push('\n');
        }
        outputs.push(DemoOutput { step, text });
    }
    if outputs.is_empty() {
        return Err("no steps/NN-* folders".to_string());
    }
    Ok(outputs)
}

/// The `.txt` files now in [`OUTPUTS_DIR`].
fn committed(root: &Path) -> Result<Vec<String>, String> {
    let dir = root.join(OUTPUTS_DIR);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    Ok(files::list_dir(&dir)?
        .into_iter()
        .filter_map(|entry| entry.file_name().to_str().map(str::to_string))
        .filter(|name| name.ends_with(".txt"))
        .collect())
}

/// Writes every output that changed and removes the `.txt` files no step makes any more.
pub fn write_all(root: &Path, outputs: &[DemoOutput]) -> Result<Vec<String>, String> {
    let mut report = Vec::new();
    for output in outputs {
        let path = root.join(OUTPUTS_DIR).join(output.file_name());
        let shown = format!("{OUTPUTS_DIR}/{}", output.file_name());
        if path.is_file() && files::read(&path)? == output.text.as_bytes() {
            report.push(format!("unchanged {shown}"));
        } else {
            files::write(&path, output.text.as_bytes())?;
            report.push(format!("wrote     {shown}"));
        }
    }
    for name in committed(root)? {
        if !outputs.iter().any(|output| output.file_name() == name) {
            files::remove(&root.join(OUTPUTS_DIR).join(&name))?;
            report.push(format!("removed   {OUTPUTS_DIR}/{name} (no step makes it)"));
        }
    }
    Ok(report)
}

/// Compares [`OUTPUTS_DIR`] with the outputs just generated. Returns the problems: missing,
/// stale (with the first differing line, both ways) and extra files.
pub fn check_all(root: &Path, outputs: &[DemoOutput]) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    for output in outputs {
        let path = root.join(OUTPUTS_DIR).join(output.file_name());
        let shown = format!("{OUTPUTS_DIR}/{}", output.file_name());
        if !path.is_file() {
            problems.push(format!(
                "{shown} is missing (the output of steps/{})",
                output.step
            ));
            continue;
        }
        let committed = files::read_text(&path)?;
        if committed != output.text {
            let (line, old, new) = first_difference(&committed, &output.text);
            problems.push(format!(
                "{shown} is stale: from line {line} on, it says\n    {old:?}\n  but the demo now prints\n    {new:?}"
            ));
        }
    }
    for name in committed(root)? {
        if !outputs.iter().any(|output| output.file_name() == name) {
            problems.push(format!("{OUTPUTS_DIR}/{name} is stale: no step makes it"));
        }
    }
    Ok(problems)
}

/// The 1-based number of the first line where `a` and `b` differ, and that line of each.
fn first_difference<'a>(a: &'a str, b: &'a str) -> (usize, &'a str, &'a str) {
    let mut a_lines = a.lines();
    let mut b_lines = b.lines();
    let mut line = 1;
    loop {
        match (a_lines.next(), b_lines.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (x, y) => return (line, x.unwrap_or("(end)"), y.unwrap_or("(end)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_cut() {
        assert_eq!(
            normalize(
                "listening on 127.0.0.1:37177, peer [::1]:5 and 127.0.0.1:",
                &[]
            ),
            "listening on 127.0.0.1:PORT, peer [::1]:PORT and 127.0.0.1:"
        );
    }

    #[test]
    fn cut_replaces_the_whole_match() {
        let rules = rules(6);
        assert_eq!(
            normalize("10000 round trips, 10000 KiB each way, in 563 ms", &rules),
            "10000 round trips, 10000 KiB each way, in … ms"
        );
        assert_eq!(
            normalize("that is 17746 round trips per second", &rules),
            "that is … round trips per second"
        );
        assert_eq!(
            normalize(
                "200 tasks x 1000 yields: 175 ms, 877 ns per task switch",
                &rules
            ),
            "200 tasks x 1000 yields: … ms, … ns per task switch"
        );
        assert_eq!(
            normalize("meanwhile the worker threads went to sleep 7 times", &rules),
            "meanwhile the worker threads went to sleep … times"
        );
        assert_eq!(
            normalize("meanwhile the worker threads went to sleep 1 time", &rules),
            "meanwhile the worker threads went to sleep … times"
        );
        assert_eq!(
            normalize("one task on one thread:   642 ms", &super::rules(4)),
            "one task on one thread: … ms"
        );
        assert_eq!(
            normalize("  task 3 ran on runtime-worker-12", &super::rules(4)),
            "  task 3 ran on runtime-worker-N"
        );
    }

    #[test]
    fn round_keeps_the_width() {
        let rules = rules(1);
        assert_eq!(
            normalize(" 302 ms  sender thread: value stored", &rules),
            " 300 ms  sender thread: value stored"
        );
        assert_eq!(normalize("   7 ms  poll #1", &rules), "   0 ms  poll #1");
        assert_eq!(normalize(" 349 ms  poll #2", &rules), " 300 ms  poll #2");
        let rules = super::rules(3);
        assert_eq!(
            normalize("  woke at  52 ms: the task that slept 50 ms", &rules),
            "  woke at … ms: the task that slept 50 ms"
        );
        assert_eq!(
            normalize("Waited 401 ms in all, using 10 ms of CPU time.", &rules),
            "Waited … ms in all, using … ms of CPU time."
        );
    }

    #[test]
    fn reads_a_string_from_cargo_json() {
        let line =
            r#"{"reason":"compiler-artifact","executable":"C:\\t\\step-01.exe","fresh":true}"#;
        assert_eq!(
            json_string(line, "executable").as_deref(),
            Some(r"C:\t\step-01.exe")
        );
        assert_eq!(json_string(r#"{"executable":null}"#, "executable"), None);
    }

    #[test]
    fn stale_and_extra_outputs_are_reported() {
        let temp = files::TempDir::new("tooling-test-outputs").expect("temp dir");
        let root = temp.path();
        let outputs = vec![DemoOutput {
            step: "01-first".to_string(),
            text: "a\nb\n".to_string(),
        }];
        assert_eq!(
            check_all(root, &outputs).expect("check"),
            ["book/src/outputs/01-first.txt is missing (the output of steps/01-first)"]
        );
        write_all(root, &outputs).expect("write");
        assert!(check_all(root, &outputs).expect("check").is_empty());
        files::write(&root.join("book/src/outputs/01-first.txt"), b"a\nc\n").expect("write");
        files::write(&root.join("book/src/outputs/02-gone.txt"), b"x\n").expect("write");
        let problems = check_all(root, &outputs).expect("check");
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].contains("01-first.txt is stale: from line 2 on"));
        assert!(problems[0].contains("\"c\"") && problems[0].contains("\"b\""));
        assert!(problems[1].contains("02-gone.txt is stale"));
        write_all(root, &outputs).expect("write");
        assert!(check_all(root, &outputs).expect("check").is_empty());
    }
}
