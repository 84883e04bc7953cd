//! The results as a Markdown table and an SVG chart, for the book.

use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::time::Duration;

use crate::workloads::WorkloadResult;

/// What every other runtime is compared with.
const BASELINE: &str = "tokio multi-thread";

fn median_of(result: &WorkloadResult, runtime: &str) -> Option<Duration> {
    result
        .runs
        .iter()
        .find(|run| run.runtime == runtime)
        .map(|run| run.median)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-12)
}

fn format_duration(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1_000.0 {
        format!("{micros:.0} µs")
    } else if micros < 1_000_000.0 {
        format!("{:.2} ms", micros / 1e3)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

/// The geometric mean of `runtime`'s ratios to the baseline over the
/// scheduler workloads.
pub fn scheduler_geomean(results: &[WorkloadResult], runtime: &str) -> Option<f64> {
    let ratios: Vec<f64> = results
        .iter()
        .filter(|result| result.scheduler)
        .map(|result| {
            Some(ratio(
                median_of(result, runtime)?,
                median_of(result, BASELINE)?,
            ))
        })
        .collect::<Option<_>>()?;
    (!ratios.is_empty())
        .then(|| (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp())
}

/// The machine, as precisely as this process can tell: the CPU's model, the
/// cores, and the system, from `/proc` on Linux, `sysctl` and `sw_vers` on
/// macOS, the registry and `ver` on Windows.
fn machine() -> String {
    let cpu = cpu_model().unwrap_or_else(|| "an unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let system = system_name().unwrap_or_else(|| std::env::consts::OS.to_string());
    format!("{cpu}, {cores} cores available, {system}")
}

fn cpu_model() -> Option<String> {
    match std::env::consts::OS {
        "linux" => std::fs::read_to_string("/proc/cpuinfo")
            .ok()?
            .lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split(':').nth(1))
            .map(|model| model.trim().to_string()),
        "macos" => output_of("sysctl", &["-n", "machdep.cpu.brand_string"]),
        "windows" => output_of(
            "reg",
            &[
                "query",
                r"HKLM\HARDWARE\DESCRIPTION\System\CentralProcessor\0",
                "/v",
                "ProcessorNameString",
            ],
        )?
        .lines()
        .find_map(|line| line.split("REG_SZ").nth(1))
        .map(|model| model.trim().to_string()),
        _ => None,
    }
}

fn system_name() -> Option<String> {
    match std::env::consts::OS {
        "linux" => std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|release| format!("Linux {}", release.trim())),
        "macos" => output_of("sw_vers", &["-productVersion"]).map(|v| format!("macOS {v}")),
        "windows" => output_of("cmd", &["/c", "ver"]),
        _ => None,
    }
}

/// What `program` prints, trimmed; `None` if it cannot run or fails.
fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}

/// The results as Markdown: a summary, then a table per workload.
pub fn table(results: &[WorkloadResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Machine: {}.  ", machine());
    let _ = writeln!(
        out,
        "Each figure is the median of the runs; ratios are to {BASELINE} in the same run (lower is faster). \
         Multi-threaded runtimes run tasks on 2 threads.\n"
    );
    let mut names: Vec<&str> = Vec::new();
    for result in results {
        for run in &result.runs {
            if !names.contains(&run.runtime) {
                names.push(run.runtime);
            }
        }
    }
    let means: Vec<(&str, f64)> = names
        .iter()
        .filter_map(|name| Some((*name, scheduler_geomean(results, name)?)))
        .collect();
    // `run echo`, say, measures no scheduler workload: no summary then.
    if !means.is_empty() {
        let _ = writeln!(
            out,
            "| runtime | scheduler workloads, geometric mean vs {BASELINE} |"
        );
        let _ = writeln!(out, "|---|---:|");
        for (name, mean) in means {
            let _ = writeln!(out, "| {name} | {mean:.2}x |");
        }
    }
    for result in results {
        let _ = writeln!(out, "\n### {} ({})\n", result.workload, result.description);
        let floor = median_of(result, crate::mio_floor::NAME);
        let _ = write!(
            out,
            "| runtime | threads | median | min – max | vs {BASELINE} |"
        );
        let _ = writeln!(
            out,
            "{}",
            if floor.is_some() { " vs raw mio |" } else { "" }
        );
        let _ = writeln!(
            out,
            "|---|---:|---:|---:|---:|{}",
            if floor.is_some() { "---:|" } else { "" }
        );
        let baseline = median_of(result, BASELINE);
        for run in &result.runs {
            let vs = baseline.map_or("".into(), |b| format!("{:.2}x", ratio(run.median, b)));
            let spread = format!(
                "{} – {}",
                format_duration(run.samples[0]),
                format_duration(run.samples[run.samples.len() - 1])
            );
            let _ = write!(
                out,
                "| {} | {} | {} | {spread} | {vs} |",
                run.runtime,
                run.threads,
                format_duration(run.median)
            );
            match floor {
                Some(floor) => {
                    let _ = writeln!(out, " {:.2}x |", ratio(run.median, floor));
                }
                None => out.push('\n'),
            }
        }
    }
    out
}

/// Where the report goes: `book/src/bench/`.
fn book_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/bench")
}

/// Writes `book/src/bench/results.md` and `results.svg`.
pub fn write(results: &[WorkloadResult]) -> io::Result<()> {
    let dir = book_dir();
    std::fs::create_dir_all(&dir)?;
    let mut markdown = String::from(
        "<!-- Written by `cargo run --release -p bench -- report`; do not edit by hand. -->\n\n",
    );
    markdown.push_str(&table(results));
    std::fs::write(dir.join("results.md"), &markdown)?;
    std::fs::write(
        dir.join("results.svg"),
        chart(&machine_line(&markdown), &panels(&markdown)),
    )
}

/// The `Machine: ...` line of the results, without its Markdown line break.
fn machine_line(markdown: &str) -> String {
    markdown
        .lines()
        .find(|line| line.starts_with("Machine: "))
        .map_or(String::new(), |line| line.trim_end().to_string())
}

/// Redraws `book/src/bench/results.svg` from the committed `results.md`, without running
/// anything: the chart is drawn from the table either way, so the two always agree.
pub fn redraw() -> io::Result<()> {
    let dir = book_dir();
    let markdown = std::fs::read_to_string(dir.join("results.md"))?;
    let panels = panels(&markdown);
    if panels.is_empty() {
        return Err(io::Error::other("results.md has no workload tables"));
    }
    std::fs::write(
        dir.join("results.svg"),
        chart(&machine_line(&markdown), &panels),
    )
}

/// One workload of the chart: its name, what it does, and each runtime's ratio to the
/// baseline, in the table's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// The workload's name, e.g. `spawn_many`.
    pub workload: String,
    /// What it does, e.g. `10000 empty tasks spawned from one task`.
    pub description: String,
    /// (runtime, median time divided by the baseline's).
    pub bars: Vec<(String, f64)>,
}

/// The panels of the chart, read from the Markdown that [`table`] writes: each `### name
/// (description)` heading and the `vs tokio multi-thread` column of the table below it.
pub fn panels(markdown: &str) -> Vec<Panel> {
    let mut panels: Vec<Panel> = Vec::new();
    let mut column = None;
    for line in markdown.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            let (workload, description) = heading.split_once(" (").unwrap_or((heading, ""));
            panels.push(Panel {
                workload: workload.trim().to_string(),
                description: description.trim_end_matches(')').to_string(),
                bars: Vec::new(),
            });
            column = None;
            continue;
        }
        let Some(panel) = panels.last_mut() else {
            continue;
        };
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cells.len() < 2 {
            continue;
        }
        if cells[0] == "runtime" && cells.get(1) == Some(&"threads") {
            column = cells
                .iter()
                .position(|cell| *cell == format!("vs {BASELINE}"));
            continue;
        }
        let ratio = column
            .and_then(|at| cells.get(at))
            .and_then(|cell| cell.strip_suffix('x'))
            .and_then(|number| number.parse::<f64>().ok());
        if let Some(ratio) = ratio {
            panel.bars.push((cells[0].to_string(), ratio));
        }
    }
    panels
}

/// The chart's width in pixels: the width of the book's text column, so that it is shown
/// at its own size and its text at the size it is written in.
const WIDTH: f64 = 720.0;
/// Where the bars start and end, in pixels from the left.
const BARS_LEFT: f64 = 170.0;
const BARS_RIGHT: f64 = 660.0;
/// The height of one bar's row, and of a panel's title and axis.
const ROW: f64 = 21.0;
const TITLE: f64 = 44.0;
const AXIS: f64 = 30.0;
/// The labelled ticks of the ratio axis (log scale); the axis spans the first to the last.
const TICKS: [f64; 7] = [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

fn bar_color(name: &str) -> &'static str {
    match name {
        "runtime" => "#2f8a4a",
        BASELINE | "tokio current-thread" => "#3b6fb6",
        "smol" => "#c2590a",
        crate::mio_floor::NAME => "#5a5a5a",
        _ => "#8fa3bf",
    }
}

/// Escapes text for SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The x of a ratio on the log axis, clamped to the axis.
fn x_of(ratio: f64, low: f64, high: f64) -> f64 {
    let at = (ratio.clamp(low, high).ln() - low.ln()) / (high.ln() - low.ln());
    BARS_LEFT + at * (BARS_RIGHT - BARS_LEFT)
}

/// The chart as SVG: one panel per workload, one under the other, each bar a runtime's
/// median time divided by the baseline's on a log axis (1x is as fast as tokio
/// multi-thread; shorter is faster), with its ratio written at its end. Text is 12 to 15
/// px at the chart's own width. The background is transparent and the book puts figures on
/// a light card, so the dark themes show it the same.
pub fn chart(machine: &str, panels: &[Panel]) -> String {
    let (low, high) = (TICKS[0], TICKS[TICKS.len() - 1]);
    let height: f64 = panels
        .iter()
        .map(|panel| TITLE + ROW * panel.bars.len() as f64 + AXIS)
        .sum::<f64>()
        + 52.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="title" font-family="sans-serif" fill="#1a1a1a">"##
    );
    let _ = writeln!(
        svg,
        "<title id=\"title\">Each runtime's median time on each workload, divided by {BASELINE}'s \
         in the same run, on a logarithmic axis: 1x is as fast as {BASELINE}, shorter bars are faster</title>"
    );
    let _ = writeln!(
        svg,
        r##"<text x="10" y="20" font-size="13" fill="#444">Each bar: time divided by {BASELINE}'s in the same run (log scale); shorter is faster.</text>"##
    );
    let _ = writeln!(
        svg,
        r##"<text x="10" y="38" font-size="13" fill="#444">{}</text>"##,
        escape(machine)
    );
    let mut top = 42.0;
    for panel in panels {
        let bars_top = top + TITLE;
        let bars_bottom = bars_top + ROW * panel.bars.len() as f64;
        let _ = writeln!(
            svg,
            r##"<text x="10" y="{}" font-size="15" font-weight="bold">{}<tspan font-weight="normal" font-size="13" fill="#444"> {}</tspan></text>"##,
            top + 26.0,
            escape(&panel.workload),
            escape(&panel.description)
        );
        // Grid lines and tick labels; the line at 1x is darker.
        for tick in TICKS {
            let x = x_of(tick, low, high);
            let (stroke, width) = if tick == 1.0 {
                ("#222", 1.5)
            } else {
                ("#ccc", 1.0)
            };
            let _ = writeln!(
                svg,
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{stroke}" stroke-width="{width}"/>"##,
                bars_top - 4.0,
                bars_bottom + 4.0
            );
            let label = if tick < 1.0 {
                format!("{tick}x")
            } else {
                format!("{tick:.0}x")
            };
            let _ = writeln!(
                svg,
                r##"<text x="{x:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#444">{label}</text>"##,
                bars_bottom + 20.0
            );
        }
        for (index, (name, ratio)) in panel.bars.iter().enumerate() {
            let y = bars_top + ROW * index as f64;
            let end = x_of(*ratio, low, high);
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="13" text-anchor="end">{}</text>"##,
                BARS_LEFT - 8.0,
                y + 15.0,
                escape(name)
            );
            let _ = writeln!(
                svg,
                r##"<rect x="{BARS_LEFT}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"##,
                y + 3.0,
                (end - BARS_LEFT).max(1.0),
                ROW - 6.0,
                bar_color(name)
            );
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="12" stroke="#fff" stroke-width="3" paint-order="stroke">{ratio:.2}x</text>"##,
                end + 5.0,
                y + 15.0
            );
        }
        top = bars_bottom + AXIS;
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKDOWN: &str = "Machine: x.\n\n| runtime | scheduler workloads, geometric mean vs tokio multi-thread |\n|---|---:|\n| stage 2 | 0.98x |\n\n\
        ### spawn_many (10000 empty tasks)\n\n\
        | runtime | threads | median | min – max | vs tokio multi-thread |\n|---|---:|---:|---:|---:|\n\
        | stage 2 | 1 | 2.53 ms | 2.48 ms – 2.88 ms | 0.60x |\n\
        | tokio multi-thread | 2 | 4.22 ms | 3.61 ms – 5.28 ms | 1.00x |\n\n\
        ### echo (50 connections)\n\n\
        | runtime | threads | median | min – max | vs tokio multi-thread | vs raw mio |\n|---|---:|---:|---:|---:|---:|\n\
        | runtime | 2 | 51.29 ms | 49.87 ms – 53.66 ms | 0.90x | 1.05x |\n\
        | raw mio loop | 2 | 48.82 ms | 48.51 ms – 57.87 ms | 0.86x | 1.00x |\n";

    #[test]
    fn panels_come_from_the_tables() {
        let panels = panels(MARKDOWN);
        assert_eq!(panels.len(), 2);
        assert_eq!(panels[0].workload, "spawn_many");
        assert_eq!(panels[0].description, "10000 empty tasks");
        assert_eq!(
            panels[0].bars,
            [
                ("stage 2".to_string(), 0.60),
                ("tokio multi-thread".to_string(), 1.00)
            ]
        );
        assert_eq!(
            panels[1].bars,
            [
                ("runtime".to_string(), 0.90),
                ("raw mio loop".to_string(), 0.86)
            ]
        );
    }

    #[test]
    fn the_chart_prints_every_ratio_and_labels_every_tick() {
        let svg = chart(&machine_line(MARKDOWN), &panels(MARKDOWN));
        for text in [
            "0.60x", "1.00x", "0.86x", ">0.125x<", ">0.5x<", ">1x<", ">8x<",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        assert!(
            !svg.contains("fill=\"#FFFFFF\""),
            "the background is transparent"
        );
    }
}
