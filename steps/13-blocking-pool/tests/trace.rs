//! `--trace FILE`: a recording of a real run is a Chrome trace-event file,
//! with a named track per thread, each task's polls as slices, its spawn
//! and wakes as instants, and the workers' parks.

mod common;

use std::time::Duration;

use serde_json::Value;

#[test]
fn a_recorded_run_is_a_chrome_trace() {
    const TASKS: usize = 8;
    let file = std::env::temp_dir().join(format!("runtime-trace-{}.json", std::process::id()));
    let path = file.clone();
    common::watchdog(Duration::from_secs(30), "a traced run", move || {
        runtime::trace::start();
        runtime::block_on(async {
            let handles: Vec<_> = (0..TASKS)
                .map(|_| {
                    runtime::spawn(async {
                        runtime::task::yield_now().await;
                        runtime::time::sleep(Duration::from_millis(20)).await;
                    })
                })
                .collect();
            for handle in handles {
                handle.await.expect("the task completes");
            }
        });
        runtime::trace::write(&path).expect("the trace is written");
    });
    let text = std::fs::read_to_string(&file).expect("the trace file exists");
    let _ = std::fs::remove_file(&file);

    let trace: Value = serde_json::from_str(&text).expect("the trace is JSON");
    let events = trace["traceEvents"].as_array().expect("a list of events");
    let tracks: Vec<&str> = events
        .iter()
        .filter(|event| event["ph"] == "M" && event["name"] == "thread_name")
        .filter_map(|event| event["args"]["name"].as_str())
        .collect();
    assert!(tracks.contains(&"worker 0"), "tracks: {tracks:?}");
    let named = |phase: &str, name: &str| {
        events
            .iter()
            .filter(|event| event["ph"] == phase && event["name"] == name)
            .count()
    };
    // Each task is polled three times: it yields, it sleeps, it ends.
    assert!(
        named("X", "poll") >= 3 * TASKS,
        "{} polls",
        named("X", "poll")
    );
    for poll in events.iter().filter(|event| event["name"] == "poll") {
        assert!(poll["ts"].as_f64().is_some_and(|ts| ts >= 0.0), "{poll}");
        assert!(poll["dur"].as_f64().is_some_and(|dur| dur >= 0.0), "{poll}");
        assert!(poll["args"]["task"].is_u64(), "{poll}");
    }
    // Queued three times each: spawned, woken by its yield, by its timer.
    let queued = named("i", "spawn") + named("i", "wake");
    assert!(queued >= 3 * TASKS, "{queued} spawns and wakes");
    assert!(named("i", "timers fired") >= 1, "no timer fired");
    // While every task sleeps, the workers park.
    let parks = events
        .iter()
        .filter(|event| event["ph"] == "X")
        .filter_map(|event| event["name"].as_str())
        .filter(|name| *name == "parked" || name.starts_with("timekeeper waits"))
        .count();
    assert!(parks >= 1, "no worker parked");
}
