//! Side-by-side benchmarks: the book's stages and the runtime against
//! tokio (current-thread and multi-thread), smol, and, for TCP, a raw mio
//! event loop with no futures at all.
//!
//! ```text
//! cargo run --release -p bench -- report   # full run; rewrites book/src/bench/
//! cargo run --release -p bench -- run      # full run; prints the table only
//! cargo run --release -p bench -- run echo # only the named workloads
//! cargo run -p bench -- smoke              # tiny sizes, one round: does it all run?
//! cargo run -p bench -- chart              # redraw results.svg from the committed results.md
//! ```

mod http;
mod memory;
mod mio_floor;
mod report;
mod runtimes;
mod scale;
mod workloads;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    if command == "memory-child" {
        // A child process of the memory measure: see memory.rs.
        let args: Vec<String> = args.collect();
        return match memory::child_main(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        };
    }
    if command == "scale-client" {
        // The clients of the connection curve: see scale.rs.
        let args: Vec<String> = args.collect();
        return match scale::client_main(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: scale client: {error}");
                ExitCode::FAILURE
            }
        };
    }
    // `run` may name workloads to run alone; `report` always runs them all,
    // or the committed table would lose rows.
    let only: Vec<String> = args.collect();
    if command == "chart" {
        return match report::redraw() {
            Ok(()) => {
                println!("wrote book/src/bench/results.svg from book/src/bench/results.md");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: could not redraw the chart: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let (sizes, http_sizes, memory_sizes, scale_sizes, rounds, write) = match command.as_str() {
        "report" => (
            workloads::Sizes::FULL,
            http::HttpSizes::FULL,
            memory::MemorySizes::FULL,
            scale::ScaleSizes::FULL,
            7,
            true,
        ),
        "run" => (
            workloads::Sizes::FULL,
            http::HttpSizes::FULL,
            memory::MemorySizes::FULL,
            scale::ScaleSizes::FULL,
            7,
            false,
        ),
        "smoke" => (
            workloads::Sizes::SMOKE,
            http::HttpSizes::SMOKE,
            memory::MemorySizes::SMOKE,
            scale::ScaleSizes::SMOKE,
            1,
            false,
        ),
        _ => {
            eprintln!("usage: bench report | run [WORKLOAD...] | smoke | chart");
            return ExitCode::from(2);
        }
    };
    if cfg!(debug_assertions) && command != "smoke" {
        eprintln!(
            "note: a debug build; for figures worth quoting, use `cargo run --release -p bench -- {command}`"
        );
    }
    if !only.is_empty() && command != "run" {
        eprintln!("error: only `run` takes workload names");
        return ExitCode::from(2);
    }
    // `http` and `memory` are not timed workloads: each has a harness of
    // its own.
    let own_harness = |name: &String| name == "http" || name == "memory" || name == "scale";
    let run_http = only.is_empty() || only.iter().any(|name| name == "http");
    let run_memory = only.is_empty() || only.iter().any(|name| name == "memory");
    let run_scale = only.is_empty() || only.iter().any(|name| name == "scale");
    let http_alone = !only.is_empty() && only.iter().all(own_harness);
    let only: Vec<String> = only.into_iter().filter(|name| !own_harness(name)).collect();
    let results = if http_alone {
        Vec::new() // `run http` alone
    } else {
        match workloads::run_all(sizes, rounds, &only) {
            Ok(results) => results,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::from(2);
            }
        }
    };
    // Fewer rounds than the others: each takes seconds, not milliseconds.
    let http_results = if run_http {
        http::run_all(http_sizes, rounds.min(5))
    } else {
        Vec::new()
    };
    let memory_results = run_memory.then(|| memory::run_all(memory_sizes));
    let scale_results = run_scale.then(|| scale::run_all(scale_sizes, rounds));
    let table = report::table(
        &results,
        &http_results,
        memory_results.as_ref(),
        scale_results.as_ref(),
    );
    println!("{table}");
    if write {
        if let Err(error) = report::write(
            &results,
            &http_results,
            memory_results.as_ref(),
            scale_results.as_ref(),
        ) {
            eprintln!("error: could not write the report: {error}");
            return ExitCode::FAILURE;
        }
        println!("wrote book/src/bench/results.md and book/src/bench/results.svg");
    }
    ExitCode::SUCCESS
}
