//! Checks that every benchmark figure the book quotes comes from the committed results,
//! `book/src/bench/results.md`, which one run of `cargo run --release -p bench -- report`
//! wrote.
//!
//! The pages that quote the benchmarks are listed in [`PAGES`]. In their prose (code blocks,
//! inline code and HTML comments are skipped) a *figure* is
//!
//! - a ratio, a number followed by `x` (`0.73x`, `3.8x`);
//! - a time, a number followed by `s`, `ms`, `µs` or `ns` (`3.70 ms`, `794 µs`);
//! - a percentage (`10%`);
//! - a comparison in words or digits, `N times faster` (or `slower`, `as fast`, `more`,
//!   `less`, `longer`, `shorter`), `twice as fast` (or `slow`, `long`, `much`), `half the
//!   time`.
//!
//! Each ratio and time must appear, as written, in the results. Percentages and comparisons
//! never do: a chapter that wants to say how much faster something got quotes the two
//! figures from the table instead. A page may name the few figures in its prose that are not
//! benchmark results (a constant of the code, a demo's output) in one comment,
//! `<!-- figures not from the benchmarks: 20 µs, 50 µs -->`; those are allowed on that page.
//!
//! The chapters about speed (stages 7 to 10) each include a table generated from the results,
//! `book/src/bench/stage-NN.md`: every workload's median on the stage before and on this
//! one, with its ratio to tokio's multi-threaded runtime. [`write_tables`] writes them and
//! [`check_book`] fails if one is stale.

use std::path::Path;

use crate::files;

/// The committed results, relative to the repository root.
pub const RESULTS: &str = "book/src/bench/results.md";

/// The pages whose figures are checked, relative to `book/src`.
pub const PAGES: &[&str] = &[
    "07-bookkeeping.md",
    "08-local-queues.md",
    "09-spinning.md",
    "10-one-allocation.md",
    "runtime.md",
    "how-fast.md",
];

/// The stages whose chapters include a comparison table with the stage before.
pub const COMPARED_STAGES: &[u32] = &[7, 8, 9, 10];

/// Where the comparison tables go, relative to the repository root.
pub const TABLES_DIR: &str = "book/src/bench";

/// One workload's results: its name and, per runtime, (median, ratio to tokio
/// multi-thread), as written in the results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// The workload's name, e.g. `spawn_many`.
    pub name: String,
    /// (runtime, median, ratio), in the table's order.
    pub rows: Vec<(String, String, String)>,
}

/// The workloads of the results (each `### name (...)` table), and the summary's geometric
/// means per runtime.
pub fn parse_results(results: &str) -> (Vec<Workload>, Vec<(String, String)>) {
    let mut workloads: Vec<Workload> = Vec::new();
    let mut means = Vec::new();
    let mut ratio_column = None;
    for line in results.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            let name = heading.split(" (").next().unwrap_or(heading).trim();
            workloads.push(Workload {
                name: name.to_string(),
                rows: Vec::new(),
            });
            ratio_column = None;
            continue;
        }
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if !line.trim_start().starts_with('|') || cells.len() < 2 || cells[1].starts_with("--") {
            continue;
        }
        if cells[0] == "runtime" {
            ratio_column = cells
                .iter()
                .position(|c| c.starts_with("vs tokio multi-thread"));
            continue;
        }
        match workloads.last_mut() {
            None if cells.len() == 2 => means.push((cells[0].to_string(), cells[1].to_string())),
            Some(workload) if cells.len() > 3 => {
                let ratio = ratio_column
                    .and_then(|at| cells.get(at))
                    .map_or(String::new(), |c| c.to_string());
                workload
                    .rows
                    .push((cells[0].to_string(), cells[2].to_string(), ratio));
            }
            _ => {}
        }
    }
    (workloads, means)
}

/// The comparison table of stage `stage` with the stage before it, as Markdown.
pub fn stage_table(results: &str, stage: u32) -> String {
    let (workloads, means) = parse_results(results);
    let (old, new) = (format!("stage {}", stage - 1), format!("stage {stage}"));
    let mut out = format!(
        "<!-- Generated from results.md by `cargo run -q -p tooling -- figures`; do not edit. -->\n\
         <div class=\"bench-table\">\n\n\
         | workload | {old} | {new} |\n|---|---:|---:|\n"
    );
    let cell = |workload: &Workload, runtime: &str| {
        workload
            .rows
            .iter()
            .find(|(name, _, _)| name == runtime)
            .map(|(_, median, ratio)| format!("{median} ({ratio})"))
    };
    for workload in &workloads {
        if let (Some(a), Some(b)) = (cell(workload, &old), cell(workload, &new)) {
            out.push_str(&format!("| {} | {a} | {b} |\n", workload.name));
        }
    }
    let mean = |runtime: &str| {
        means
            .iter()
            .find(|(name, _)| name == runtime)
            .map(|(_, mean)| mean.clone())
    };
    if let (Some(a), Some(b)) = (mean(&old), mean(&new)) {
        out.push_str(&format!(
            "| scheduler workloads, geometric mean | {a} | {b} |\n"
        ));
    }
    out.push_str("\n</div>\n");
    out
}

/// The file name of stage `stage`'s table: `stage-07.md`.
pub fn table_file(stage: u32) -> String {
    format!("stage-{stage:02}.md")
}

/// Writes the comparison tables; returns one line per file saying what happened.
pub fn write_tables(root: &Path) -> Result<Vec<String>, String> {
    let results = files::read_text(&root.join(RESULTS))?;
    let mut report = Vec::new();
    for &stage in COMPARED_STAGES {
        let path = root.join(TABLES_DIR).join(table_file(stage));
        let text = stage_table(&results, stage);
        let shown = format!("{TABLES_DIR}/{}", table_file(stage));
        if path.is_file() && files::read_text(&path)? == text {
            report.push(format!("unchanged {shown}"));
        } else {
            files::write(&path, text.as_bytes())?;
            report.push(format!("wrote     {shown}"));
        }
    }
    Ok(report)
}

/// What the comment that lists a page's figures that are not results starts with.
const NOT_FROM_BENCH: &str = "<!-- figures not from the benchmarks:";

/// One figure found in prose: its 1-based line, its text, and whether it can be a result at
/// all (a comparison or a percentage cannot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// The 1-based line of the page.
    pub line: usize,
    /// The figure as written, e.g. `3.70 ms`.
    pub text: String,
    /// `false` for percentages and comparisons.
    pub quotable: bool,
}

/// `text` with fenced code blocks, inline code and HTML comments blanked out (replaced with
/// spaces, newlines kept, so line numbers still hold).
pub fn prose_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_fence: Option<String> = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let fence: String = trimmed
            .chars()
            .take_while(|c| *c == '`' || *c == '~')
            .collect();
        if fence.len() >= 3 {
            match &in_fence {
                Some(open) if fence.starts_with(open.as_str()) => in_fence = None,
                None => in_fence = Some(fence),
                _ => {}
            }
            out.push_str(&blank(line));
            continue;
        }
        if in_fence.is_some() {
            out.push_str(&blank(line));
        } else {
            out.push_str(line);
        }
    }
    let out = blank_between(&out, "<!--", "-->");
    blank_between(&out, "`", "`")
}

/// Every character of `s` replaced by a space, newlines kept.
fn blank(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect()
}

/// `text` with everything from each `open` to the next `close` blanked.
fn blank_between(text: &str, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        out.push_str(&rest[..start]);
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(close) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let whole = start + open.len() + end + close.len();
        out.push_str(&blank(&rest[start..whole]));
        rest = &rest[whole..];
    }
    out.push_str(rest);
    out
}

const NUMBER_WORDS: &[&str] = &[
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twenty", "hundred",
];
const COMPARATIVES: &[&str] = &[
    "faster", "slower", "as", "more", "less", "longer", "shorter", "quicker",
];

/// The figures in one line of prose.
fn figures_in(line: &str, number: usize) -> Vec<Figure> {
    let mut found = Vec::new();
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let starts_word = i == 0
            || !(chars[i - 1].1.is_alphanumeric() || matches!(chars[i - 1].1, '.' | '-' | '_'));
        if c.is_ascii_digit() && starts_word {
            let mut j = i;
            while j < chars.len()
                && (chars[j].1.is_ascii_digit()
                    || (matches!(chars[j].1, '.' | ',')
                        && chars.get(j + 1).is_some_and(|(_, d)| d.is_ascii_digit())))
            {
                j += 1;
            }
            let end = chars.get(j).map_or(line.len(), |(at, _)| *at);
            let number_text = &line[at..end];
            let after = &line[end..];
            let word_end = |s: &str| !s.starts_with(|c: char| c.is_alphanumeric());
            if let Some(rest) = after.strip_prefix('x')
                && word_end(rest)
            {
                found.push(figure(number, format!("{number_text}x"), true));
            } else if after.starts_with('%') {
                found.push(figure(number, format!("{number_text}%"), false));
            } else if let Some(unit) = ["ms", "µs", "ns", "s"].iter().find(|unit| {
                after
                    .strip_prefix(' ')
                    .or(after.strip_prefix('\u{a0}'))
                    .and_then(|rest| rest.strip_prefix(**unit))
                    .is_some_and(word_end)
            }) {
                found.push(figure(number, format!("{number_text} {unit}"), true));
            } else if let Some(comparison) = comparison(after) {
                found.push(figure(number, format!("{number_text} {comparison}"), false));
            }
            i = j.max(i + 1);
            continue;
        }
        if c.is_alphabetic() && starts_word {
            let word_len = line[at..]
                .find(|c: char| !c.is_alphabetic())
                .unwrap_or(line.len() - at);
            let word = &line[at..at + word_len];
            let lower = word.to_lowercase();
            let after = &line[at + word_len..];
            if NUMBER_WORDS.contains(&lower.as_str())
                && let Some(comparison) = comparison(after)
            {
                found.push(figure(number, format!("{word} {comparison}"), false));
            } else if (lower == "twice" || lower == "half")
                && after.strip_prefix(' ').is_some_and(|rest| {
                    [
                        "as fast", "as slow", "as long", "as quick", "as much", "the time",
                    ]
                    .iter()
                    .any(|phrase| rest.starts_with(phrase))
                })
            {
                found.push(figure(number, format!("{word} as"), false));
            }
            i += word.chars().count();
            continue;
        }
        i += 1;
    }
    found
}

/// If `after` (what follows a number) is ` times faster` or the like, that text.
fn comparison(after: &str) -> Option<String> {
    let rest = after.strip_prefix(' ')?.strip_prefix("times ")?;
    let word: String = rest.chars().take_while(|c| c.is_alphabetic()).collect();
    COMPARATIVES
        .contains(&word.as_str())
        .then(|| format!("times {word}"))
}

fn figure(line: usize, text: String, quotable: bool) -> Figure {
    Figure {
        line,
        text,
        quotable,
    }
}

/// Every figure in the prose of a page.
pub fn figures(text: &str) -> Vec<Figure> {
    prose_only(text)
        .lines()
        .enumerate()
        .flat_map(|(index, line)| figures_in(line, index + 1))
        .collect()
}

/// The figures a page says are not benchmark results (its `<!-- figures not from the
/// benchmarks: ... -->` comment, comma-separated).
pub fn declared_elsewhere(text: &str) -> Vec<String> {
    let Some(start) = text.find(NOT_FROM_BENCH) else {
        return Vec::new();
    };
    let rest = &text[start + NOT_FROM_BENCH.len()..];
    let list = &rest[..rest.find("-->").unwrap_or(rest.len())];
    list.split(',')
        .map(|item| item.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|item| !item.is_empty())
        .collect()
}

/// Whether `figure` appears in the results as a whole figure (not as the tail of a longer
/// number: `0.73x` is not found inside `10.73x`).
fn in_results(results: &str, figure: &str) -> bool {
    results.match_indices(figure).any(|(at, _)| {
        let before = results[..at].chars().next_back();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.' || c == ',')
    })
}

/// Checks the figures of one page against the results. Returns how many figures there were
/// and the problems, each starting with `page:line:`.
pub fn check_page(shown: &str, text: &str, results: &str) -> (usize, Vec<String>) {
    let allowed = declared_elsewhere(text);
    let found = figures(text);
    let mut problems = Vec::new();
    for figure in &found {
        if allowed.contains(&figure.text) {
            continue;
        }
        let at = format!("{shown}:{}", figure.line);
        if !figure.quotable {
            problems.push(format!(
                "{at}: `{}` is a figure no benchmark result says: quote the two figures \
                 from {RESULTS} instead",
                figure.text
            ));
        } else if !in_results(results, &figure.text) {
            problems.push(format!(
                "{at}: `{}` is not in {RESULTS}: quote the committed results (or, if it is \
                 not a benchmark result, list it in the page's `{NOT_FROM_BENCH} ... -->`)",
                figure.text
            ));
        }
    }
    (found.len(), problems)
}

/// Checks every page of [`PAGES`], and that the comparison tables are up to date. Returns
/// how many figures there were and the problems.
pub fn check_book(root: &Path) -> Result<(usize, Vec<String>), String> {
    let results = files::read_text(&root.join(RESULTS))?;
    let mut count = 0;
    let mut problems = Vec::new();
    for &stage in COMPARED_STAGES {
        let path = root.join(TABLES_DIR).join(table_file(stage));
        let shown = format!("{TABLES_DIR}/{}", table_file(stage));
        if !path.is_file() || files::read_text(&path)? != stage_table(&results, stage) {
            problems.push(format!(
                "{shown} is missing or stale: regenerate it from {RESULTS} with \
                 `cargo run -q -p tooling -- figures`"
            ));
        }
    }
    for page in PAGES {
        let shown = format!("book/src/{page}");
        let text = files::read_text(&root.join(&shown))?;
        let (figures, found) = check_page(&shown, &text, &results);
        count += figures;
        problems.extend(found);
    }
    Ok((count, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESULTS: &str = "| stage 7 | 2 | 3.99 ms | 3.75 ms – 4.78 ms | 0.95x |\n\
                           | stage 8 | 2 | 794 µs | 782 µs – 804 µs | 10.73x |\n";

    fn texts(page: &str) -> Vec<String> {
        figures(page).into_iter().map(|f| f.text).collect()
    }

    #[test]
    fn finds_ratios_times_percentages_and_comparisons() {
        let page = "Stage 7 takes 3.99 ms, 0.95x tokio; 12% less, six times faster,\n\
                    twice as fast and 3.8 times faster. Not 200 tasks x 1000 yields, step-05x, v1.2\n\
                    or twice as many.\n";
        assert_eq!(
            texts(page),
            [
                "3.99 ms",
                "0.95x",
                "12%",
                "six times faster",
                "twice as",
                "3.8 times faster"
            ]
        );
    }

    #[test]
    fn code_and_comments_are_not_prose() {
        let page = "`3.1 ms` and <!-- 9 ms -->\n```text\n1.5x\n```\n~~~\n2 ms\n~~~\nreal: 4 µs\n";
        let found = figures(page);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].line, found[0].text.as_str()), (8, "4 µs"));
    }

    #[test]
    fn a_figure_not_in_the_results_fails() {
        let page = "It went from 3.99 ms to 794 µs, 0.95x; not 3.70 ms, nor 0.73x, nor six times faster.\n";
        let (count, problems) = check_page("ch.md", page, RESULTS);
        assert_eq!(count, 6);
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with("ch.md:1: `3.70 ms` is not in"));
        assert!(problems[1].starts_with("ch.md:1: `0.73x` is not in"));
        assert!(problems[2].starts_with("ch.md:1: `six times faster` is a figure"));
    }

    #[test]
    fn a_stage_table_compares_with_the_stage_before() {
        let results = "| runtime | scheduler workloads, geometric mean vs tokio multi-thread |\n\
            |---|---:|\n| stage 6 | 1.70x |\n| stage 7 | 1.58x |\n\n\
            ### spawn_many (10000 empty tasks)\n\n\
            | runtime | threads | median | min – max | vs tokio multi-thread |\n\
            |---|---:|---:|---:|---:|\n\
            | stage 6 | 2 | 3.70 ms | 3.57 ms – 4.28 ms | 0.88x |\n\
            | stage 7 | 2 | 3.99 ms | 3.75 ms – 4.78 ms | 0.95x |\n\n\
            ### echo (50 connections)\n\n\
            | runtime | threads | median | min – max | vs tokio multi-thread | vs raw mio |\n\
            |---|---:|---:|---:|---:|---:|\n\
            | stage 7 | 2 | 55.14 ms | 54.27 ms – 62.55 ms | 0.97x | 1.13x |\n";
        let table = stage_table(results, 7);
        assert!(
            table.contains("| workload | stage 6 | stage 7 |\n"),
            "{table}"
        );
        assert!(table.contains("| spawn_many | 3.70 ms (0.88x) | 3.99 ms (0.95x) |\n"));
        assert!(!table.contains("echo"), "stage 6 has no echo row here");
        assert!(table.contains("| scheduler workloads, geometric mean | 1.70x | 1.58x |\n"));
    }

    #[test]
    fn figures_declared_as_not_from_the_bench_pass() {
        let page = "<!-- figures not from the benchmarks: 20 µs,\n 10% -->\nSpin 20 µs, 10% of the time.\n";
        assert_eq!(declared_elsewhere(page), ["20 µs", "10%"]);
        assert_eq!(check_page("ch.md", page, RESULTS), (2, Vec::new()));
    }
}
