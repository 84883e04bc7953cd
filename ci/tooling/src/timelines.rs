//! The timeline figures of the chapters, `book/src/figures/timeline-*.svg`: what every worker
//! did over a stretch of a real run, drawn from the Chrome trace-event file that the demo (or
//! the runtime's HTTP example, under load from a small client here) writes with
//! `--trace FILE`.
//!
//! Each [`Figure`] names the program it runs, how it picks its window (the whole run, or a
//! stretch around the first event of a kind, after a given share of the run), and the kinds
//! of event its caption talks about, which must be in that window. A figure records its
//! *shape* in the SVG itself, in a `<desc>`: which tracks it shows and which kinds of event
//! appear. Timestamps change from run to run; the shape must not. `timelines --check` runs
//! every program again and fails if a figure's tracks differ from the committed one's, or if
//! a kind its caption needs is missing.
//!
//! The figures are drawn for a light background, like every figure of the book (the book
//! shows them on a light card in every theme).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::files;

/// Where the figures live, relative to the repository root.
pub const FIGURES_DIR: &str = "book/src/figures";

/// The program a figure records.
#[derive(Debug, Clone, Copy)]
pub enum Program {
    /// A stage's demo: `cargo run --release -p step-NN -- ARGS --trace FILE`.
    Demo(&'static str, &'static [&'static str]),
    /// The runtime's HTTP example, with the `trace` feature, while clients send requests.
    HttpUnderLoad,
}

/// Which stretch of the run a figure shows.
#[derive(Debug, Clone, Copy)]
pub enum Window {
    /// The whole run.
    Whole,
    /// A stretch around the first event of a kind on a worker, past a share of the run.
    Around {
        /// The kind of event: "steal", "spin"...
        anchor: &'static str,
        /// Which events of that kind will do.
        accept: fn(&Slice) -> bool,
        /// How far into the run to look, a share from 0 to 1.
        after: f64,
        /// How long before it the window starts, in microseconds.
        before: f64,
        /// How long the window is, in microseconds.
        width: f64,
    },
}

/// One figure of the book.
#[derive(Debug, Clone, Copy)]
pub struct Figure {
    /// Its file name in [`FIGURES_DIR`], without `.svg`.
    pub name: &'static str,
    /// The program whose run it shows.
    pub program: Program,
    /// The stretch it shows.
    pub window: Window,
    /// The kinds of event its caption talks about: each must be in the window.
    pub needs: &'static [&'static str],
    /// The kinds of event its caption says every worker shows: each must be on every
    /// worker's track in the window.
    pub on_every_worker: &'static [&'static str],
    /// What it shows, the first line of the figure.
    pub title: &'static str,
}

/// The figures, in the order of the chapters.
pub fn figures() -> Vec<Figure> {
    vec![
        Figure {
            name: "timeline-04-workers",
            program: Program::Demo("step-04", &["--short-tasks"]),
            window: Window::Around {
                anchor: "lock wait",
                accept: |_| true,
                after: 0.5,
                before: 2.0,
                width: 8.0,
            },
            needs: &["poll", "wake", "lock wait"],
            on_every_worker: &["poll", "wake", "lock wait"],
            title: "Stage 4's demo with --short-tasks, 8 µs: two workers, one ready queue, one lock",
        },
        Figure {
            name: "timeline-05-reactor",
            program: Program::Demo("step-05", &[]),
            window: Window::Whole,
            needs: &[
                "poll",
                "wake",
                "timekeeper waits in OS poll",
                "reactor turn",
                "parked",
            ],
            on_every_worker: &[],
            title: "Stage 5's demo, the whole run: a server task reads a socket that a client fills slowly",
        },
        Figure {
            name: "timeline-08-local-queues",
            program: Program::Demo("step-08", &[]),
            window: Window::Around {
                anchor: "steal",
                accept: |steal| steal.number("tasks") >= 2.0,
                after: 0.1,
                before: 20.0,
                width: 80.0,
            },
            needs: &["poll", "wake", "steal"],
            on_every_worker: &[],
            title: "Stage 8's demo (50 echo connections), 80 µs around a steal",
        },
        Figure {
            name: "timeline-09-spinning",
            program: Program::Demo("step-09", &[]),
            window: Window::Around {
                anchor: "spin",
                accept: |spin| spin.args.get("found work") == Some(&serde_json::Value::Bool(true)),
                after: 0.1,
                before: 40.0,
                width: 150.0,
            },
            needs: &["poll", "wake", "spin"],
            on_every_worker: &[],
            title: "Stage 9's demo (50 echo connections), 150 µs around a spin that found work",
        },
        Figure {
            name: "timeline-runtime-http",
            program: Program::HttpUnderLoad,
            window: Window::Around {
                anchor: "reactor turn",
                accept: |turn| turn.number("events") >= 2.0,
                after: 0.5,
                before: 100.0,
                width: 600.0,
            },
            needs: &["poll", "wake", "reactor turn"],
            on_every_worker: &[],
            title: "The runtime's HTTP example under load from 4 keep-alive clients, 0.6 ms",
        },
    ]
}

/// One event of the trace file, as much of it as the figures use.
#[derive(Debug, Clone, Deserialize)]
pub struct Slice {
    /// "X" a slice, "i" an instant, "M" a track's name; arrows ("s", "f") are not drawn.
    pub ph: String,
    /// What happened: "poll", "wake", "parked"...
    pub name: String,
    /// The thread's track.
    pub tid: u64,
    /// When, in microseconds from the start of the recording.
    #[serde(default)]
    pub ts: f64,
    /// How long, for a slice.
    #[serde(default)]
    pub dur: f64,
    /// Its numbers: a poll's task, a wake's queue, a steal's count...
    #[serde(default)]
    pub args: serde_json::Map<String, serde_json::Value>,
}

impl Slice {
    /// The number `key` among its arguments, or 0.
    pub fn number(&self, key: &str) -> f64 {
        self.args.get(key).and_then(|v| v.as_f64()).unwrap_or(0.0)
    }
}

/// The trace file's top level.
#[derive(Debug, Deserialize)]
struct TraceFile {
    #[serde(rename = "traceEvents")]
    trace_events: Vec<Slice>,
}

/// A drawn figure and its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drawn {
    /// The SVG.
    pub svg: String,
    /// The tracks it shows, top to bottom.
    pub tracks: Vec<String>,
    /// The kinds of event in it.
    pub kinds: BTreeSet<String>,
}

/// How many workers a figure shows: the book's figures come from a 2-core machine, and on a
/// bigger one the first two workers still show every kind of event.
const WORKERS_SHOWN: usize = 2;

/// Reads a trace file.
pub fn read_trace(path: &Path) -> Result<Vec<Slice>, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot open the trace {}: {e}", path.display()))?;
    let trace: TraceFile = serde_json::from_reader(BufReader::new(file))
        .map_err(|e| format!("{} is not a trace-event file: {e}", path.display()))?;
    Ok(trace.trace_events)
}

/// Draws `figure` from the events of a trace.
pub fn draw(figure: &Figure, events: &[Slice]) -> Result<Drawn, String> {
    // The tracks: the main thread (if it did anything) and the first workers.
    let mut names: HashMap<u64, String> = HashMap::new();
    for event in events
        .iter()
        .filter(|e| e.ph == "M" && e.name == "thread_name")
    {
        if let Some(name) = event.args.get("name").and_then(|v| v.as_str()) {
            names.insert(event.tid, name.to_string());
        }
    }
    let mut tracks: Vec<(u64, String)> = names
        .iter()
        .filter(|(_, name)| {
            *name == "main"
                || name
                    .strip_prefix("worker ")
                    .and_then(|n| n.parse::<usize>().ok())
                    .is_some_and(|n| n < WORKERS_SHOWN)
                || name.starts_with("blocking")
        })
        .map(|(tid, name)| (*tid, name.clone()))
        .collect();
    tracks.sort_by_key(|(_, name)| track_order(name));
    let drawn: Vec<&Slice> = events
        .iter()
        .filter(|e| (e.ph == "X" || e.ph == "i") && tracks.iter().any(|(tid, _)| *tid == e.tid))
        .collect();
    if drawn.is_empty() {
        return Err(format!("{}: the trace has no events", figure.name));
    }
    let end_of_run = drawn.iter().map(|e| e.ts + e.dur).fold(0.0, f64::max);
    let mut sorted = drawn.clone();
    sorted.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    let longest = sorted.iter().map(|e| e.dur).fold(0.0, f64::max);
    // The events in a window: those that start in it, and the slices that began before it
    // and reach into it.
    let window = |start: f64, width: f64| -> Vec<&Slice> {
        let from = sorted.partition_point(|e| e.ts < start - longest);
        let to = sorted.partition_point(|e| e.ts <= start + width);
        sorted[from..to]
            .iter()
            .copied()
            .filter(|e| e.ts + e.dur >= start)
            .collect()
    };
    // A window will do if it has every kind the caption needs, and every track it shows.
    let fits = |events: &[&Slice]| {
        let kinds: BTreeSet<&str> = events.iter().map(|e| e.name.as_str()).collect();
        figure.needs.iter().all(|need| kinds.contains(need))
            && tracks.iter().all(|(tid, _)| {
                !tracks_needed(&names, *tid)
                    || (events.iter().any(|e| e.tid == *tid)
                        && figure
                            .on_every_worker
                            .iter()
                            .all(|need| events.iter().any(|e| e.tid == *tid && e.name == *need)))
            })
    };
    let (start, width, in_window) = match figure.window {
        Window::Whole => (0.0, end_of_run, window(0.0, end_of_run)),
        Window::Around {
            anchor,
            accept,
            after,
            before,
            width,
        } => {
            let is_worker = |tid: u64| names.get(&tid).is_some_and(|n| n.starts_with("worker"));
            // The first event that will do as the anchor, and whose window fits.
            sorted
                .iter()
                .filter(|e| e.ts >= after * end_of_run && is_worker(e.tid))
                .filter(|e| e.name == anchor && accept(e))
                .map(|e| {
                    let start = (e.ts - before).max(0.0);
                    (start, width, window(start, width))
                })
                .find(|(_, _, events)| fits(events))
                .ok_or_else(|| {
                    format!(
                        "{}: no {anchor:?} event with {} and every worker around it",
                        figure.name,
                        figure.needs.join(", ")
                    )
                })?
        }
    };
    // Only the tracks with something in the window; a stretch shows the workers only.
    let stretch = matches!(figure.window, Window::Around { .. });
    tracks.retain(|(tid, _)| {
        in_window.iter().any(|e| e.tid == *tid) && (!stretch || tracks_needed(&names, *tid))
    });
    let in_window: Vec<&Slice> = in_window
        .into_iter()
        .filter(|e| tracks.iter().any(|(tid, _)| *tid == e.tid))
        .collect();
    let kinds: BTreeSet<String> = in_window.iter().map(|e| e.name.clone()).collect();
    for need in figure.needs {
        if !kinds.contains(*need) {
            return Err(format!(
                "{}: no {need:?} in the window (it has: {})",
                figure.name,
                kinds.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for (tid, name) in tracks.iter().filter(|(tid, _)| tracks_needed(&names, *tid)) {
        for need in figure.on_every_worker {
            if !in_window.iter().any(|e| e.tid == *tid && e.name == *need) {
                return Err(format!("{}: no {need:?} on {name}", figure.name));
            }
        }
    }
    let track_names: Vec<String> = tracks.iter().map(|(_, name)| name.clone()).collect();
    let svg = svg(figure, &tracks, &in_window, start, width, &kinds);
    Ok(Drawn {
        svg,
        tracks: track_names,
        kinds,
    })
}

/// Whether a window must show the track `tid`: every worker shown must be in it.
fn tracks_needed(names: &HashMap<u64, String>, tid: u64) -> bool {
    names
        .get(&tid)
        .is_some_and(|name| name.starts_with("worker"))
}

/// Top to bottom: main, the workers in order, then blocking threads.
fn track_order(name: &str) -> (u8, usize) {
    let number = |rest: &str| rest.trim().parse().unwrap_or(0);
    if name == "main" {
        (0, 0)
    } else if let Some(n) = name.strip_prefix("worker") {
        (1, number(n))
    } else if let Some(n) = name.strip_prefix("blocking") {
        (2, number(n))
    } else {
        (3, 0)
    }
}

// The width of the book's text column, so that the figure is shown at its own size and its
// text at 12 to 15 px.
const WIDTH: f64 = 760.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 52.0;
const ROW: f64 = 44.0;

/// The fill of a slice of kind `name`.
fn slice_color(name: &str) -> &'static str {
    match name {
        "poll" => "#3b6fb6",
        "parked" => "#b9b9b9",
        "timekeeper waits" => "#8c6d4f",
        "timekeeper waits in OS poll" => "#e8862a",
        "spin" => "#e3c530",
        "blocking job" => "#9b62a7",
        "lock wait" => "#d62728",
        _ => "#666",
    }
}

/// The fill of an instant of kind `name`, and its mark.
fn instant_style(name: &str) -> (&'static str, &'static str) {
    match name {
        "spawn" | "wake" => ("#2e8b3a", "triangle"),
        "steal" => ("#d62728", "diamond"),
        "reactor turn" => ("#e8862a", "circle"),
        "timers fired" => ("#1f9e9e", "square"),
        _ => ("#666", "circle"),
    }
}

/// The SVG mark of an instant at `x`, its point at `y`.
fn mark(shape: &str, x: f64, y: f64, fill: &str) -> String {
    match shape {
        "triangle" => format!(
            r#"<path d="M{:.1} {:.1} l-4 -7 h8 z" fill="{fill}"/>"#,
            x, y
        ),
        "diamond" => format!(
            r#"<path d="M{:.1} {:.1} l5 -5 l-5 -5 l-5 5 z" fill="{fill}"/>"#,
            x, y
        ),
        "square" => format!(
            r#"<rect x="{:.1}" y="{:.1}" width="7" height="7" fill="{fill}"/>"#,
            x - 3.5,
            y - 7.0
        ),
        _ => format!(
            r#"<circle cx="{x:.1}" cy="{:.1}" r="3.5" fill="{fill}"/>"#,
            y - 3.5
        ),
    }
}

/// A duration in microseconds, for the axis: "250 µs", "1.5 ms", "2 s".
fn duration_label(micros: f64) -> String {
    if micros == 0.0 {
        "0".to_string()
    } else if micros >= 1_000_000.0 {
        format!("{} s", trim(micros / 1_000_000.0))
    } else if micros >= 1000.0 {
        format!("{} ms", trim(micros / 1000.0))
    } else {
        format!("{} µs", trim(micros))
    }
}

fn trim(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The step between two ticks: 1, 2 or 5 times a power of ten, about `width / 6`.
fn tick_step(width: f64) -> f64 {
    let rough = width / 6.0;
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * power)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The figure: a row per track, slices as bars, instants as marks above them, a time axis,
/// a legend of the kinds that appear, and the shape in a `<desc>`.
fn svg(
    figure: &Figure,
    tracks: &[(u64, String)],
    events: &[&Slice],
    start: f64,
    width: f64,
    kinds: &BTreeSet<String>,
) -> String {
    let plot = WIDTH - LEFT - RIGHT;
    let x_of = |ts: f64| LEFT + ((ts - start) / width).clamp(0.0, 1.0) * plot;
    let axis_y = TOP + ROW * tracks.len() as f64 + 6.0;
    let legend_y = axis_y + 40.0;
    let height = legend_y + 14.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="title" font-family="sans-serif" fill="#1a1a1a">"##
    );
    let _ = writeln!(out, r#"<title id="title">{}</title>"#, escape(figure.title));
    let _ = writeln!(
        out,
        r#"<desc id="shape">tracks: {}; events: {}</desc>"#,
        escape(
            &tracks
                .iter()
                .map(|(_, n)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        escape(&kinds.iter().cloned().collect::<Vec<_>>().join(", "))
    );
    let _ = writeln!(
        out,
        r#"<text x="8" y="20" font-size="15" font-weight="bold">{}</text>"#,
        escape(figure.title)
    );
    let _ = writeln!(
        out,
        r##"<text x="8" y="40" font-size="12" fill="#444">Time runs left to right, one row per thread; recorded with --trace, drawn by the tooling.</text>"##
    );
    // Ticks.
    let step = tick_step(width);
    let mut tick = 0.0;
    while tick <= width + 1e-9 {
        let x = x_of(start + tick);
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{axis_y:.1}" stroke="#e4e4e4"/>"##
        );
        let _ = writeln!(
            out,
            r##"<text x="{x:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#444">{}</text>"##,
            axis_y + 14.0,
            duration_label(tick)
        );
        tick += step;
    }
    for (row, (tid, name)) in tracks.iter().enumerate() {
        let top = TOP + ROW * row as f64;
        let bar_top = top + 16.0;
        let bar_height = 20.0;
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="14" text-anchor="end">{}</text>"##,
            LEFT - 8.0,
            bar_top + 14.0,
            escape(name)
        );
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999" stroke-width="0.5"/>"##,
            bar_top + bar_height,
            WIDTH - RIGHT,
            bar_top + bar_height
        );
        // Slices. Polls alternate between two shades, so that back-to-back polls stay
        // apart; slices of one kind too thin to see apart at this scale (under a pixel)
        // are merged into one bar.
        let mut bars: Vec<(&str, bool, f64, f64)> = Vec::new();
        let mut odd = false;
        for event in events.iter().filter(|e| e.tid == *tid && e.ph == "X") {
            let (x0, x1) = (x_of(event.ts), x_of(event.ts + event.dur));
            match bars.last_mut() {
                Some((kind, _, start, end))
                    if *kind == event.name && x0 <= *end + 0.5 && x1 - *start < 1.0 =>
                {
                    *end = end.max(x1)
                }
                _ => {
                    odd ^= event.name == "poll";
                    bars.push((&event.name, odd, x0, x1))
                }
            }
        }
        for (kind, odd, x0, x1) in bars {
            // Parks and spins lower and lighter than polls, so polls stand out.
            let (y, h) = if kind == "poll" || kind == "blocking job" || kind == "lock wait" {
                (bar_top, bar_height)
            } else {
                (bar_top + 5.0, bar_height - 10.0)
            };
            let _ = writeln!(
                out,
                r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{}"/>"#,
                (x1 - x0).max(1.0),
                if kind == "poll" && odd {
                    "#6f9fdc"
                } else {
                    slice_color(kind)
                }
            );
        }
        // Instants above the bar, one mark per kind per pixel.
        let mut seen: BTreeSet<(String, i64)> = BTreeSet::new();
        for event in events.iter().filter(|e| e.tid == *tid && e.ph == "i") {
            let x = x_of(event.ts);
            if !seen.insert((event.name.clone(), x.round() as i64)) {
                continue;
            }
            let (fill, shape) = instant_style(&event.name);
            out.push_str(&mark(shape, x, bar_top - 1.0, fill));
            out.push('\n');
        }
    }
    // The legend: the kinds that appear.
    let mut x = 10.0;
    let mut y = legend_y;
    for kind in kinds {
        let label_width = 7.5 * kind.chars().count() as f64 + 34.0;
        if x + label_width > WIDTH - RIGHT {
            x = 10.0;
            y += 20.0;
        }
        let (fill, shape) = instant_style(kind);
        let is_slice = !matches!(
            kind.as_str(),
            "spawn" | "wake" | "steal" | "reactor turn" | "timers fired"
        );
        if is_slice {
            let _ = writeln!(
                out,
                r#"<rect x="{x:.1}" y="{:.1}" width="16" height="10" fill="{}"/>"#,
                y - 9.0,
                slice_color(kind)
            );
        } else {
            out.push_str(&mark(shape, x + 8.0, y + 1.0, fill));
            out.push('\n');
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{y:.1}" font-size="13">{}</text>"#,
            x + 22.0,
            escape(kind)
        );
        x += label_width;
    }
    out.push_str("</svg>\n");
    out
}

/// The shape a committed figure records: its tracks, and its kinds of event.
pub fn committed_shape(svg: &str) -> Option<(Vec<String>, BTreeSet<String>)> {
    let start = svg.find("<desc id=\"shape\">tracks: ")? + "<desc id=\"shape\">tracks: ".len();
    let end = start + svg[start..].find("</desc>")?;
    let (tracks, kinds) = svg[start..end].split_once("; events: ")?;
    let split = |text: &str| -> Vec<String> {
        text.split(", ")
            .filter(|s| !s.is_empty())
            .map(|s| s.replace("&amp;", "&"))
            .collect()
    };
    Some((split(tracks), split(kinds).into_iter().collect()))
}

/// Builds with cargo and returns the executable it reports.
fn build(root: &Path, args: &[&str]) -> Result<PathBuf, String> {
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root)
        .args([
            "build",
            "-q",
            "--locked",
            "--release",
            "--message-format=json",
        ])
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo build {}: {e}", args.join(" ")))?;
    if !output.status.success() {
        return Err(format!("`cargo build {}` failed", args.join(" ")));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("`cargo build {}` reported no executable", args.join(" ")))
}

/// How long a recorded run may take.
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// Waits for `child` to exit with status 0 within [`TIME_LIMIT`].
fn wait_with_limit(child: &mut std::process::Child, what: &str) -> Result<(), String> {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{what} exited with {status}")),
            Ok(None) if started.elapsed() > TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what} ran for more than {TIME_LIMIT:?}"));
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("cannot wait for {what}: {e}")),
        }
    }
}

/// Runs `program` with `--trace`, writing the trace to `trace`.
fn record(root: &Path, program: Program, trace: &Path) -> Result<(), String> {
    match program {
        Program::Demo(package, args) => {
            let executable = build(root, &["-p", package])?;
            let mut child = Command::new(&executable)
                .current_dir(root)
                .args(args)
                .arg("--trace")
                .arg(trace)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot run {}: {e}", executable.display()))?;
            wait_with_limit(&mut child, &format!("{package}'s demo"))
        }
        Program::HttpUnderLoad => {
            let executable = build(
                root,
                &["-p", "runtime", "--features", "trace", "--example", "http"],
            )?;
            let mut child = Command::new(&executable)
                .current_dir(root)
                .args(["127.0.0.1:0", "--trace"])
                .arg(trace)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot run {}: {e}", executable.display()))?;
            let result = drive_http(&mut child);
            // Closing its standard input ends a traced server, which writes its trace.
            drop(child.stdin.take());
            wait_with_limit(&mut child, "the http example")?;
            result
        }
    }
}

/// Reads the server's address from its first line, then sends requests from 4 keep-alive
/// connections at once for half a second.
fn drive_http(child: &mut std::process::Child) -> Result<(), String> {
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the http example's output: {e}"))?;
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .ok_or_else(|| format!("the http example printed no address: {line:?}"))?
        .to_string();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let address = address.clone();
            thread::spawn(move || -> Result<usize, String> {
                let mut stream = TcpStream::connect(&address)
                    .map_err(|e| format!("cannot connect to {address}: {e}"))?;
                let _ = stream.set_nodelay(true);
                let started = Instant::now();
                let mut answered = 0;
                while started.elapsed() < Duration::from_millis(500) {
                    stream
                        .write_all(b"GET /hello HTTP/1.1\r\nHost: figure\r\n\r\n")
                        .map_err(|e| format!("cannot send a request: {e}"))?;
                    read_response(&mut stream)?;
                    answered += 1;
                }
                Ok(answered)
            })
        })
        .collect();
    for client in clients {
        client
            .join()
            .map_err(|_| "a client thread panicked".to_string())??;
    }
    Ok(())
}

/// Reads one HTTP response with a Content-Length body.
fn read_response(stream: &mut TcpStream) -> Result<(), String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream
            .read(&mut byte)
            .map_err(|e| format!("cannot read a response: {e}"))?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or("a response without content-length")?;
    let mut body = vec![0; length];
    stream
        .read_exact(&mut body)
        .map_err(|e| format!("cannot read a response's body: {e}"))?;
    Ok(())
}

/// Records and draws `figure`, trying up to three runs (a short run can miss the event
/// the window is centered on).
pub fn generate(root: &Path, figure: &Figure) -> Result<Drawn, String> {
    let dir = files::TempDir::new("timelines")?;
    let trace = dir.path().join(format!("{}.json", figure.name));
    let mut last = String::new();
    for _ in 0..3 {
        record(root, figure.program, &trace)?;
        match draw(figure, &read_trace(&trace)?) {
            Ok(drawn) => return Ok(drawn),
            Err(error) => last = error,
        }
    }
    Err(last)
}

/// Regenerates every figure, or those named in `only`; returns one line per figure written.
pub fn write_all(root: &Path, only: &[&str]) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    for figure in figures() {
        if !only.is_empty() && !only.contains(&figure.name) {
            continue;
        }
        let drawn = generate(root, &figure)?;
        let path = root.join(FIGURES_DIR).join(format!("{}.svg", figure.name));
        files::write(&path, drawn.svg.as_bytes())?;
        lines.push(format!(
            "wrote {}/{}.svg: {}; {}",
            FIGURES_DIR,
            figure.name,
            drawn.tracks.join(", "),
            drawn.kinds.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(lines)
}

/// Regenerates every figure without writing it, and compares its shape with the committed
/// one's: the same tracks, and every kind of event its caption needs.
pub fn check_all(root: &Path) -> Result<(usize, Vec<String>), String> {
    let mut problems = Vec::new();
    let figures = figures();
    for figure in &figures {
        let path = root.join(FIGURES_DIR).join(format!("{}.svg", figure.name));
        let committed = files::read_text(&path)?;
        let Some((tracks, kinds)) = committed_shape(&committed) else {
            problems.push(format!("{}: no shape in its <desc>", path.display()));
            continue;
        };
        for need in figure.needs {
            if !kinds.contains(*need) {
                problems.push(format!(
                    "{}: the committed figure has no {need:?}",
                    figure.name
                ));
            }
        }
        match generate(root, figure) {
            Ok(drawn) if drawn.tracks != tracks => problems.push(format!(
                "{}: a new run shows tracks {:?}, the committed figure {:?}",
                figure.name, drawn.tracks, tracks
            )),
            Ok(_) => {}
            Err(error) => problems.push(error),
        }
    }
    Ok((figures.len(), problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ph: &str, name: &str, tid: u64, ts: f64, dur: f64) -> Slice {
        Slice {
            ph: ph.into(),
            name: name.into(),
            tid,
            ts,
            dur,
            args: serde_json::Map::new(),
        }
    }

    fn named(tid: u64, name: &str) -> Slice {
        let mut track = event("M", "thread_name", tid, 0.0, 0.0);
        track.args.insert("name".into(), name.into());
        track
    }

    #[test]
    fn a_figure_records_its_shape_and_reads_it_back() {
        let figure = Figure {
            name: "test",
            program: Program::Demo("step-04", &[]),
            window: Window::Whole,
            needs: &["poll"],
            on_every_worker: &[],
            title: "a <test> & more",
        };
        let events = vec![
            named(1, "main"),
            named(2, "worker 0"),
            named(3, "worker 5"),
            event("X", "poll", 2, 10.0, 5.0),
            event("i", "wake", 1, 5.0, 0.0),
            event("X", "poll", 3, 10.0, 5.0),
        ];
        let drawn = draw(&figure, &events).unwrap();
        // Worker 5 is beyond the workers shown.
        assert_eq!(drawn.tracks, ["main", "worker 0"]);
        let (tracks, kinds) = committed_shape(&drawn.svg).unwrap();
        assert_eq!(tracks, drawn.tracks);
        assert_eq!(kinds, drawn.kinds);
        assert!(drawn.svg.contains("a &lt;test&gt; &amp; more"));
        // A kind the caption needs and the run lacks is an error.
        let needs_steal = Figure {
            needs: &["steal"],
            ..figure
        };
        assert!(draw(&needs_steal, &events).unwrap_err().contains("steal"));
        // So is a kind it needs on every worker that a worker lacks.
        let needs_wake_everywhere = Figure {
            on_every_worker: &["wake"],
            ..figure
        };
        let error = draw(&needs_wake_everywhere, &events).unwrap_err();
        assert!(error.contains("\"wake\" on worker 0"), "{error}");
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(500.0), 100.0);
        assert_eq!(tick_step(2_000_000.0), 500_000.0);
        assert_eq!(duration_label(1500.0), "1.5 ms");
        assert_eq!(duration_label(250.0), "250 µs");
    }
}
