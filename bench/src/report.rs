//! The results as a Markdown table and an SVG chart, for the book.

use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::time::Duration;

use crate::http::{HttpResult, quantile};
use crate::memory::MemoryResult;
use crate::scale::ScaleResult;
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

/// The floor of a TCP workload: the faster of the raw mio loops in the
/// same run, by median, or `None` where no loop ran.
fn floor_of(result: &WorkloadResult) -> Option<Duration> {
    [crate::mio_floor::NAME_ONE_THREAD, crate::mio_floor::NAME]
        .into_iter()
        .filter_map(|name| median_of(result, name))
        .min()
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

/// The results as Markdown: a summary, then a table per workload, then
/// the HTTP tables.
pub fn table(
    results: &[WorkloadResult],
    http: &[HttpResult],
    memory: Option<&MemoryResult>,
    scale: Option<&ScaleResult>,
) -> String {
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
        let floor = floor_of(result);
        // Echo records each round trip: its quantiles get columns.
        let quantiles = result.runs.iter().any(|run| !run.latencies.is_empty());
        let _ = write!(
            out,
            "| runtime | threads | median | min – max | vs {BASELINE} |"
        );
        let _ = writeln!(
            out,
            "{}{}",
            if floor.is_some() { " vs raw mio |" } else { "" },
            if quantiles {
                " round trip p50 | p99 | p99.9 |"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "|---|---:|---:|---:|---:|{}{}",
            if floor.is_some() { "---:|" } else { "" },
            if quantiles { "---:|---:|---:|" } else { "" }
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
            if let Some(floor) = floor {
                let _ = write!(out, " {:.2}x |", ratio(run.median, floor));
            }
            if quantiles {
                let _ = write!(
                    out,
                    " {} | {} | {} |",
                    format_duration(quantile(&run.latencies, 0.5)),
                    format_duration(quantile(&run.latencies, 0.99)),
                    format_duration(quantile(&run.latencies, 0.999))
                );
            }
            out.push('\n');
        }
    }
    http_tables(&mut out, http);
    if let Some(memory) = memory {
        memory_table(&mut out, memory);
    }
    if let Some(scale) = scale {
        scale_table(&mut out, scale);
    }
    out
}

/// The heading of the scale table, which [`scale_curves`] looks for.
const SCALE_HEADING: &str = "### scale";

/// Time per item at each count: one row per workload and count, one
/// column per runtime.
fn scale_table(out: &mut String, scale: &ScaleResult) {
    let _ = writeln!(
        out,
        "\n{SCALE_HEADING} (time per task spawned, per sleep, per connection echoing 1 KiB once, as the count grows; connections all held open, their clients in another process; median of the runs, each in a fresh runtime)\n"
    );
    let _ = write!(out, "| workload | count |");
    for runtime in &scale.runtimes {
        let _ = write!(out, " {runtime} |");
    }
    let _ = writeln!(out, " runtime / {BASELINE} |");
    let _ = writeln!(
        out,
        "|---|---:|{}---:|",
        "---:|".repeat(scale.runtimes.len())
    );
    let ours = scale.runtimes.iter().position(|name| *name == "runtime");
    let base = scale.runtimes.iter().position(|name| *name == BASELINE);
    for (workload, count, times) in &scale.points {
        let _ = write!(out, "| {workload} | {count} |");
        for time in times {
            let _ = write!(out, " {} |", format_fine(*time));
        }
        let vs = match (ours, base) {
            (Some(o), Some(b)) => format!("{:.2}x", ratio(times[o], times[b])),
            _ => String::new(),
        };
        let _ = writeln!(out, " {vs} |");
    }
}

/// A duration to nanoseconds below a microsecond: times per item are small.
fn format_fine(d: Duration) -> String {
    let nanos = d.as_secs_f64() * 1e9;
    if nanos < 1_000.0 {
        format!("{nanos:.0} ns")
    } else if nanos < 1_000_000.0 {
        format!("{:.2} µs", nanos / 1e3)
    } else {
        format_duration(d)
    }
}

/// A duration as [`format_fine`] and [`format_duration`] write it, in
/// nanoseconds.
fn parse_nanos(text: &str) -> Option<f64> {
    let (number, unit) = text.trim().split_once(' ')?;
    let number: f64 = number.parse().ok()?;
    let scale = match unit {
        "ns" => 1.0,
        "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return None,
    };
    Some(number * scale)
}

/// One runtime's curve: (count, nanoseconds per item) points.
pub type Curve = Vec<(f64, f64)>;

/// One curve chart's data: per workload, per runtime, (count, nanoseconds
/// per item) points.
#[derive(Debug, Clone, PartialEq)]
pub struct Curves {
    pub runtimes: Vec<String>,
    /// (workload, for each runtime its points).
    pub workloads: Vec<(String, Vec<Curve>)>,
}

/// The scale table of the results, read back from the Markdown.
pub fn scale_curves(markdown: &str) -> Option<Curves> {
    let mut lines = markdown
        .lines()
        .skip_while(|line| !line.starts_with(SCALE_HEADING))
        .skip(1)
        .skip_while(|line| !line.starts_with('|'));
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|cell| cell.trim().to_string())
            .collect()
    };
    let header = cells(lines.next()?);
    let runtimes: Vec<String> = header[2..header.len() - 1].to_vec();
    let mut workloads: Vec<(String, Vec<Curve>)> = Vec::new();
    for line in lines.skip(1).take_while(|line| line.starts_with('|')) {
        let row = cells(line);
        let count: f64 = row.get(1)?.parse().ok()?;
        if workloads.last().is_none_or(|(name, _)| *name != row[0]) {
            workloads.push((row[0].clone(), vec![Vec::new(); runtimes.len()]));
        }
        let curves = &mut workloads.last_mut()?.1;
        for (i, curve) in curves.iter_mut().enumerate() {
            if let Some(nanos) = row.get(2 + i).and_then(|cell| parse_nanos(cell)) {
                curve.push((count, nanos));
            }
        }
    }
    (!workloads.is_empty()).then_some(Curves {
        runtimes,
        workloads,
    })
}

/// The scale chart as SVG: one panel per workload, side by side; the count
/// on a logarithmic x axis, the time per item on a linear y axis from 0;
/// one line per runtime, in the colours of the other chart, with a legend.
/// Transparent, like the other chart: the book puts it on a light card.
pub fn scale_chart(machine: &str, curves: &Curves) -> String {
    const PANEL: f64 = WIDTH / 3.0;
    const TOP: f64 = 88.0;
    const PLOT: f64 = 190.0;
    const LEFT: f64 = 58.0;
    const RIGHT: f64 = 14.0;
    let height = TOP + PLOT + 36.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="scale-title" font-family="sans-serif" fill="#1a1a1a">"##
    );
    let _ = writeln!(
        svg,
        "<title id=\"scale-title\">Time per item as the count grows, for each runtime: spawning tasks, sleeping, and connections; lower is cheaper, a flat line is a cost that does not grow</title>"
    );
    let _ = writeln!(
        svg,
        r##"<text x="10" y="20" font-size="13" fill="#444">Time per item as the count grows (count on a log scale); lower is cheaper, flat is scaling well.</text>"##
    );
    let _ = writeln!(
        svg,
        r##"<text x="10" y="38" font-size="13" fill="#444">{}</text>"##,
        escape(machine)
    );
    // The legend.
    let mut x = 10.0;
    for name in &curves.runtimes {
        let _ = writeln!(
            svg,
            r##"<rect x="{x:.1}" y="50" width="14" height="4" fill="{}"/><text x="{:.1}" y="57" font-size="13">{}</text>"##,
            bar_color(name),
            x + 18.0,
            escape(name)
        );
        x += 30.0 + 8.0 * name.len() as f64;
    }
    for (index, (workload, per_runtime)) in curves.workloads.iter().enumerate() {
        let left = PANEL * index as f64 + LEFT;
        let right = PANEL * (index + 1) as f64 - RIGHT;
        let bottom = TOP + PLOT;
        let points = per_runtime.iter().flatten();
        let max_y = points.clone().map(|p| p.1).fold(0.0, f64::max) * 1.15;
        let (min_x, max_x) = points
            .clone()
            .fold((f64::MAX, 0.0f64), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
        if max_y <= 0.0 || min_x >= max_x {
            continue;
        }
        let x_of = |count: f64| {
            left + (count.ln() - min_x.ln()) / (max_x.ln() - min_x.ln()) * (right - left)
        };
        let y_of = |nanos: f64| bottom - nanos / max_y * PLOT;
        let unit = match workload.as_str() {
            "spawn" => "per task",
            "timers" => "per sleep",
            _ => "per connection",
        };
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="15" font-weight="bold">{}<tspan dx="6" font-weight="normal" font-size="13" fill="#444">{unit}</tspan></text>"##,
            PANEL * index as f64 + 10.0,
            TOP - 12.0,
            escape(workload)
        );
        // The y axis: 0, half and the top, in the unit that reads best.
        for step in 0..=2 {
            let nanos = max_y / 1.15 * step as f64 / 2.0;
            let y = y_of(nanos);
            let _ = writeln!(
                svg,
                r##"<line x1="{left:.1}" y1="{y:.1}" x2="{right:.1}" y2="{y:.1}" stroke="{}" stroke-width="1"/>"##,
                if step == 0 { "#222" } else { "#ccc" }
            );
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end" fill="#444">{}</text>"##,
                left - 4.0,
                y + 4.0,
                format_fine(Duration::from_nanos(nanos.round() as u64))
            );
        }
        // The x axis: the counts measured.
        let mut counts: Vec<f64> = points.map(|p| p.0).collect();
        counts.sort_by(f64::total_cmp);
        counts.dedup();
        for count in counts {
            let x = x_of(count);
            let label = if count >= 1e6 {
                format!("{}M", count / 1e6)
            } else if count >= 1e3 {
                format!("{}k", count / 1e3)
            } else {
                format!("{count}")
            };
            let _ = writeln!(
                svg,
                r##"<text x="{x:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#444">{label}</text>"##,
                bottom + 18.0
            );
        }
        for (name, curve) in curves.runtimes.iter().zip(per_runtime) {
            let path: Vec<String> = curve
                .iter()
                .map(|&(count, nanos)| format!("{:.1},{:.1}", x_of(count), y_of(nanos)))
                .collect();
            let _ = writeln!(
                svg,
                r##"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5"/>"##,
                path.join(" "),
                bar_color(name)
            );
            for point in &path {
                let (x, y) = point.split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(
                    svg,
                    r##"<circle cx="{x}" cy="{y}" r="3.5" fill="{}"/>"##,
                    bar_color(name)
                );
            }
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// Resident bytes per parked task and per idle connection, and their
/// ratios to tokio's.
fn memory_table(out: &mut String, memory: &MemoryResult) {
    let _ = writeln!(
        out,
        "\n### memory (resident bytes: {} tasks parked on a channel; {} idle connections, each a task waiting to read; each runtime in a fresh process)\n",
        memory.sizes.tasks, memory.sizes.connections
    );
    let _ = writeln!(
        out,
        "| runtime | per parked task | task vs {BASELINE} | per idle connection | connection vs {BASELINE} |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    let baseline = memory.runs.iter().find(|run| run.runtime == BASELINE);
    let bytes = |b: Option<f64>| {
        b.map_or("not measured on this OS".to_string(), |b| {
            format!("{b:.0} B")
        })
    };
    let versus = |b: Option<f64>, base: Option<f64>| match (b, base) {
        (Some(b), Some(base)) if base > 0.0 => format!("{:.2}x", b / base),
        _ => String::new(),
    };
    for run in &memory.runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            run.runtime,
            bytes(run.per_task),
            versus(run.per_task, baseline.and_then(|b| b.per_task)),
            bytes(run.per_connection),
            versus(run.per_connection, baseline.and_then(|b| b.per_connection)),
        );
    }
}

/// One table per connection count: requests per second (the median of the
/// rounds) and latency quantiles (over every round's requests). The ratio
/// column is time per request, like the other tables' (lower is faster):
/// tokio's requests per second divided by the runtime's. The last two are
/// the server's CPU time per request, user and system, each the median of
/// the rounds; "–" where the OS does not tell it.
fn http_tables(out: &mut String, http: &[HttpResult]) {
    for result in http {
        let _ = writeln!(
            out,
            "\n### http ({} keep-alive connections, hyper, GET / from one client thread)\n",
            result.connections
        );
        let _ = writeln!(
            out,
            "| runtime | threads | requests/s | p50 | p99 | p99.9 | vs {BASELINE} | p99 vs {BASELINE} | user CPU per request | system CPU per request |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        let baseline = result.runs.iter().find(|run| run.runtime == BASELINE);
        for run in &result.runs {
            let p99 = quantile(&run.latencies, 0.99);
            let (vs, p99_vs) = baseline.map_or((String::new(), String::new()), |b| {
                (
                    format!(
                        "{:.2}x",
                        b.requests_per_second / run.requests_per_second.max(1e-9)
                    ),
                    format!("{:.2}x", ratio(p99, quantile(&b.latencies, 0.99))),
                )
            });
            let (user, system) = run.server_cpu.map_or(("–".into(), "–".into()), |cpu| {
                let micros = |d: Duration| format!("{:.2} µs", d.as_secs_f64() * 1e6);
                (micros(cpu.user), micros(cpu.system))
            });
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {} | {} | {} | {vs} | {p99_vs} | {user} | {system} |",
                run.runtime,
                run.threads,
                run.requests_per_second,
                format_duration(quantile(&run.latencies, 0.5)),
                format_duration(p99),
                format_duration(quantile(&run.latencies, 0.999)),
            );
        }
    }
}

/// Where the report goes: `book/src/bench/`.
fn book_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/bench")
}

/// Writes `book/src/bench/results.md`, `results.svg` and `scale.svg`.
pub fn write(
    results: &[WorkloadResult],
    http: &[HttpResult],
    memory: Option<&MemoryResult>,
    scale: Option<&ScaleResult>,
) -> io::Result<()> {
    let dir = book_dir();
    std::fs::create_dir_all(&dir)?;
    let mut markdown = String::from(
        "<!-- Written by `cargo run --release -p bench -- report`; do not edit by hand. -->\n\n",
    );
    markdown.push_str(&table(results, http, memory, scale));
    std::fs::write(dir.join("results.md"), &markdown)?;
    draw(&dir, &markdown)
}

/// Draws both charts from the results' Markdown.
fn draw(dir: &Path, markdown: &str) -> io::Result<()> {
    let machine = machine_line(markdown);
    std::fs::write(dir.join("results.svg"), chart(&machine, &panels(markdown)))?;
    if let Some(curves) = scale_curves(markdown) {
        std::fs::write(dir.join("scale.svg"), scale_chart(&machine, &curves))?;
    }
    Ok(())
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
    if panels(&markdown).is_empty() {
        return Err(io::Error::other("results.md has no workload tables"));
    }
    draw(&dir, &markdown)
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
    // A table without the ratio column (memory) has no bars to draw.
    panels.retain(|panel| !panel.bars.is_empty());
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
        crate::mio_floor::NAME | crate::mio_floor::NAME_ONE_THREAD => "#5a5a5a",
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
            r##"<text x="10" y="{}" font-size="15" font-weight="bold">{}<tspan dx="6" font-weight="normal" font-size="13" fill="#444">{}</tspan></text>"##,
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
        | raw mio loop, 2 threads | 2 | 48.82 ms | 48.51 ms – 57.87 ms | 0.86x | 1.00x |\n";

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
                ("raw mio loop, 2 threads".to_string(), 0.86)
            ]
        );
    }

    #[test]
    fn scale_curves_come_from_the_scale_table() {
        let markdown = "### scale (x)\n\n| workload | count | runtime | smol | runtime / tokio multi-thread |\n|---|---:|---:|---:|---:|\n\
            | spawn | 10000 | 95 ns | 1.20 µs | 0.50x |\n| spawn | 100000 | 99 ns | 2.00 µs | 0.50x |\n\
            | timers | 10000 | 1.00 ms | 3 ns | 1.00x |\n";
        let curves = scale_curves(markdown).expect("curves");
        assert_eq!(curves.runtimes, ["runtime", "smol"]);
        assert_eq!(curves.workloads.len(), 2);
        assert_eq!(
            curves.workloads[0].1,
            [
                vec![(10000.0, 95.0), (100000.0, 99.0)],
                vec![(10000.0, 1200.0), (100000.0, 2000.0)]
            ]
        );
        assert_eq!(curves.workloads[1].1[0], [(10000.0, 1e6)]);
        let svg = scale_chart("Machine: x.", &curves);
        assert!(svg.contains("<polyline"));
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
