//! Every exercise of the workshop, in order: the one place its metadata lives.
//!
//! What an exercise asks you to write is not here: it is the marked regions of its stage's
//! source (see `regions`). What its tests check is not here either: it is each test's own
//! doc comment (see `tests_doc`). The size of an exercise is counted from its regions.

/// One exercise.
#[derive(Debug)]
pub struct Exercise {
    /// `05a`: the stage's number, and a letter when the stage has several exercises.
    pub id: &'static str,
    /// What you build, in a few words.
    pub title: &'static str,
    /// The stage folder under `steps/`, which is also the chapter's file name under `book/src`.
    pub stage: &'static str,
    /// The heading, in the stage's chapter, of the section to read first.
    pub section: &'static str,
    /// The tests that check it: (file under `tests/`, without `.rs`; the test functions, or
    /// every test of the file when empty). Public API only.
    pub tests: &'static [(&'static str, &'static [&'static str])],
}

impl Exercise {
    /// The chapter number: the stage number without its leading zero.
    pub fn chapter(&self) -> u32 {
        self.id[..2].parse().unwrap_or(0)
    }

    /// The attempt's package name: `workshop-05a`, which no stage uses.
    pub fn package(&self) -> String {
        format!("workshop-{}", self.id)
    }

    /// Where to read, as the hint of every hole says it.
    pub fn see(&self) -> String {
        format!("see chapter {}, \"{}\"", self.chapter(), self.section)
    }

    /// The section's address in the book: mdBook's id of a heading is its text in lower case,
    /// with spaces as dashes and other punctuation dropped.
    pub fn section_link(&self) -> String {
        let id: String = self
            .section
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        format!("{}.md#{id}", self.stage)
    }

    /// The time it should take, by the rule the instructor's guide states until each exercise
    /// is timed: 10 minutes to read the section and the hints, then one minute a line to write.
    pub fn estimate_minutes(lines_to_write: usize) -> usize {
        10 + lines_to_write
    }
}

/// Every exercise, in workshop order.
pub const ALL: &[Exercise] = &[
    Exercise {
        id: "01",
        title: "`block_on`: poll, and sleep until the waker is called",
        stage: "01-block-on",
        section: "Building `block_on`",
        tests: &[("block_on", &[]), ("idle", &[])],
    },
    Exercise {
        id: "02a",
        title: "a task: its state machine, its run, its waker",
        stage: "02-executor",
        section: "The waker of a task is the task",
        tests: &[("executor", &[])],
    },
    Exercise {
        id: "02b",
        title: "the executor: `spawn`, the ready queue, `block_on` with tasks, shutdown",
        stage: "02-executor",
        section: "`spawn`",
        tests: &[("executor", &[])],
    },
    Exercise {
        id: "02c",
        title: "`JoinHandle` and `yield_now`",
        stage: "02-executor",
        section: "`JoinHandle`: getting the output back",
        tests: &[("executor", &[])],
    },
    Exercise {
        id: "03",
        title: "timers: the timer queue, Sleep, and sleeping until the next deadline",
        stage: "03-timers",
        section: "The timer queue",
        tests: &[("timers", &[]), ("idle_timer", &[])],
    },
    Exercise {
        id: "04",
        title: "worker threads: the worker loop, parking, waking exactly one, the timekeeper",
        stage: "04-workers",
        section: "The worker loop",
        tests: &[("workers", &[]), ("shutdown", &[])],
    },
    Exercise {
        id: "05a",
        title: "the reactor: tokens with a generation, registrations, one poll that dispatches",
        stage: "05-reactor",
        section: "Tokens: a slot and a generation",
        tests: &[("reactor", &[]), ("errors", &[])],
    },
    Exercise {
        id: "05b",
        title: "`ScheduledIo`: readiness, a waker per waiter, clearing only what you saw",
        stage: "05-reactor",
        section: "`ScheduledIo`: readiness and who waits for it",
        tests: &[("reactor", &[]), ("errors", &[])],
    },
    Exercise {
        id: "05c",
        title: "`Registered<S>`: try first, then wait; give back what you hold",
        stage: "05-reactor",
        section: "`Registered<S>`: try first, then wait",
        tests: &[("reactor", &[]), ("errors", &[])],
    },
    Exercise {
        id: "05d",
        title: "the timekeeper waits in the OS poll; busy workers glance at it",
        stage: "05-reactor",
        section: "The timekeeper waits in the OS",
        tests: &[("reactor", &[]), ("errors", &[])],
    },
    Exercise {
        id: "06",
        title: "TCP: `bind`, `accept`, `connect` without blocking, `AsyncRead` and `AsyncWrite`",
        stage: "06-tcp",
        section: "From a registered socket to a stream",
        tests: &[(
            "tcp",
            &[
                "addresses_and_nodelay",
                "a_hundred_clients_that_connect_before_the_first_accept_are_all_accepted",
                "small_pieces_with_pauses_all_arrive",
                "a_16_mib_write_to_a_slow_reader_completes",
                "end_of_stream_is_seen_both_ways",
                "a_refused_connection_is_an_io_error",
                "binding_an_address_in_use_is_an_io_error",
                "a_reset_by_the_peer_fails_that_connection_only",
                "a_thousand_connections_at_once",
                "every_byte_reaches_its_own_stream_during_a_churn",
            ],
        )],
    },
    Exercise {
        id: "07",
        title: "bookkeeping on an interval: timers and the OS every 61 tasks",
        stage: "07-bookkeeping",
        section: "The worker loop",
        tests: &[("timers", &[]), ("workers", &[])],
    },
    Exercise {
        id: "08",
        title: "a queue per worker: push local, pop local, steal, park without a lost wakeup",
        stage: "08-local-queues",
        section: "Three kinds of queue",
        tests: &[("workers", &[]), ("leak", &[])],
    },
    Exercise {
        id: "09",
        title: "spin before you sleep",
        stage: "09-spinning",
        section: "Spinning",
        tests: &[("spin", &[]), ("workers", &[])],
    },
    Exercise {
        id: "10a",
        title: "one allocation per task, polled in place",
        stage: "10-one-allocation",
        section: "Polled in place",
        tests: &[("executor", &[]), ("leak", &[])],
    },
    Exercise {
        id: "10b",
        title: "the set of live tasks gets locks of its own",
        stage: "10-one-allocation",
        section: "The set of live tasks gets locks of its own",
        tests: &[("executor", &[]), ("leak", &[]), ("workers", &[])],
    },
    Exercise {
        id: "11a",
        title: "`abort`: a flag and a wake; `is_finished`; `into_panic`",
        stage: "11-abort",
        section: "A flag and a wake",
        tests: &[("abort", &[]), ("abort_leak", &[])],
    },
    Exercise {
        id: "12a",
        title: "`timeout` and `interval`: a deadline for any future, a tick on a schedule",
        stage: "12-timeouts",
        section: "`timeout`: a deadline for any future",
        tests: &[
            (
                "timeout",
                &[
                    "timeout_gives_the_output_or_elapsed_and_drops_the_future",
                    "a_ready_future_wins_even_at_a_zero_duration",
                    "a_timeout_whose_future_finishes_first_leaves_no_timer",
                    "a_timeout_around_a_pending_accept_fires_and_frees_it",
                    "thousands_of_timeouts_raced_with_sends_resolve_exactly_once",
                ],
            ),
            ("interval", &[]),
        ],
    },
    Exercise {
        id: "13a",
        title: "the blocking pool",
        stage: "13-blocking-pool",
        section: "The pool",
        tests: &[
            ("blocking", &[]),
            ("blocking_threads", &[]),
            ("blocking_waker", &[]),
        ],
    },
];

/// The exercise with this id; `5a` and `05A` are accepted for `05a`.
pub fn find(id: &str) -> Option<&'static Exercise> {
    let id = id.to_ascii_lowercase();
    let id = if id.len() == 1 || id.chars().nth(1).is_some_and(|c| c.is_ascii_alphabetic()) {
        format!("0{id}")
    } else {
        id
    };
    ALL.iter().find(|exercise| exercise.id == id)
}

/// Minutes of introduction per stage in a course plan: what you say before attendees start a
/// stage's first exercise.
pub const INTRODUCTION_MINUTES: usize = 10;

/// A course plan of the instructor's guide. `cargo workshop book` adds up its minutes from the
/// exercises' estimates, into `book/src/exercises/courses.md`.
#[derive(Debug)]
pub struct Course {
    /// How long it is meant to fill: `Half a day`.
    pub name: &'static str,
    /// The exercises attendees write, in order. You introduce each of their stages.
    pub write: &'static [&'static str],
    /// What else happens, in a sentence or two; `{last}` stands for the last stage's number.
    pub rest: &'static str,
}

/// The plans the instructor's guide offers.
pub const COURSES: &[Course] = &[
    Course {
        name: "Half a day",
        write: &["01", "02a", "02b"],
        rest: "You live-code `02c` from its diff, and end with the demo of stage 4 to show \
               where the next half would go.",
    },
    Course {
        name: "One day",
        write: &["01", "02a", "02b", "03", "04"],
        rest: "You live-code `02c`. Stages 5 to {last} are then a talk from the diffs, with \
               each stage's demo run live, and their exercises are for attendees to do at \
               home, where `cargo workshop check` is still their checker.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_ordered_and_match_their_stage() {
        for pair in ALL.windows(2) {
            assert!(
                pair[0].id < pair[1].id,
                "{} before {}",
                pair[0].id,
                pair[1].id
            );
        }
        for exercise in ALL {
            assert_eq!(&exercise.stage[..2], &exercise.id[..2], "{}", exercise.id);
            assert!(!exercise.tests.is_empty(), "{} has no tests", exercise.id);
        }
    }

    #[test]
    fn ids_are_found_in_short_forms() {
        let Some(first) = ALL.first() else { return };
        assert_eq!(find(first.id).map(|e| e.id), Some(first.id));
        assert_eq!(find(&first.id.to_uppercase()).map(|e| e.id), Some(first.id));
        assert_eq!(
            find(first.id.trim_start_matches('0')).map(|e| e.id),
            Some(first.id)
        );
        assert!(find("99z").is_none());
    }

    #[test]
    fn the_section_link_is_mdbooks_heading_id() {
        let exercise = Exercise {
            id: "05a",
            title: "",
            stage: "05-reactor",
            section: "Tokens: a slot and a generation",
            tests: &[],
        };
        assert_eq!(
            exercise.section_link(),
            "05-reactor.md#tokens-a-slot-and-a-generation"
        );
        assert_eq!(exercise.chapter(), 5);
    }
}
