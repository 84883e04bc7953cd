//! The results as a Markdown table and an SVG chart, for the book.

use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::time::Duration;

use plotters::prelude::*;

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

/// The machine, as precisely as this process can tell.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_string())
        })
        .unwrap_or_else(|| "an unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|release| format!("Linux {}", release.trim()))
        .unwrap_or_else(|_| std::env::consts::OS.to_string());
    format!("{cpu}, {cores} cores available, {kernel}")
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

/// Writes `book/src/bench/results.md` and `results.svg`.
pub fn write(results: &[WorkloadResult]) -> io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/bench");
    std::fs::create_dir_all(&dir)?;
    let mut markdown = String::from(
        "<!-- Written by `cargo run --release -p bench -- report`; do not edit by hand. -->\n\n",
    );
    markdown.push_str(&table(results));
    std::fs::write(dir.join("results.md"), markdown)?;
    chart(results, &dir.join("results.svg")).map_err(|error| io::Error::other(error.to_string()))
}

/// One panel per workload: each runtime's median time divided by the
/// baseline's, on a log scale, so 1.0 is "as fast as tokio".
fn chart(results: &[WorkloadResult], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let columns = 2;
    let rows = results.len().div_ceil(columns);
    let root = SVGBackend::new(path, (1100, 330 * rows as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((rows, columns));
    for (panel, result) in panels.iter().zip(results) {
        let Some(baseline) = median_of(result, BASELINE) else {
            continue;
        };
        let bars: Vec<(&str, f64)> = result
            .runs
            .iter()
            .map(|run| (run.runtime, ratio(run.median, baseline)))
            .collect();
        let high = bars.iter().map(|&(_, r)| r).fold(1.0, f64::max) * 1.6;
        let low = bars.iter().map(|&(_, r)| r).fold(1.0, f64::min) / 1.6;
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("{}: time vs {BASELINE}", result.workload),
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(150)
            .build_cartesian_2d((low..high).log_scale(), (0..bars.len()).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(bars.len())
            .y_label_formatter(&|segment| match segment {
                SegmentValue::CenterOf(i) => bars
                    .get(*i)
                    .map_or(String::new(), |&(name, _)| name.to_string()),
                _ => String::new(),
            })
            .x_labels(6)
            .x_label_formatter(&|x| format!("{x:.1}x"))
            .label_style(("sans-serif", 13))
            .draw()?;
        chart.draw_series(bars.iter().enumerate().map(|(i, &(name, r))| {
            let color = match name {
                "runtime" => RGBColor(47, 138, 74),
                BASELINE | "tokio current-thread" => RGBColor(59, 111, 182),
                "smol" => RGBColor(194, 89, 10),
                crate::mio_floor::NAME => RGBColor(90, 90, 90),
                _ => RGBColor(160, 175, 195),
            };
            let mut bar = Rectangle::new(
                [
                    (low, SegmentValue::Exact(i)),
                    (r, SegmentValue::Exact(i + 1)),
                ],
                color.filled(),
            );
            bar.set_margin(3, 3, 0, 0);
            bar
        }))?;
        // The line at 1.0: as fast as the baseline.
        chart.draw_series(std::iter::once(PathElement::new(
            vec![
                (1.0, SegmentValue::Exact(0)),
                (1.0, SegmentValue::Exact(bars.len())),
            ],
            BLACK.stroke_width(1),
        )))?;
    }
    root.present()?;
    Ok(())
}
