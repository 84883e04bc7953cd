//! The project's own checks and generators, run as `cargo run -q -p tooling -- <command>`
//! (`ci/test` runs them all).
//!
//! - [`diffs`]: the step diffs the book shows, `book/src/diffs/NN-slug.diff`, generated from the
//!   real step folders, with a one-line summary of each (`NN-slug.stat`), and the check that
//!   the committed ones are up to date.
//! - [`includes`]: every `{{#include}}` in `book/src` names an existing file and a non-empty
//!   anchor, never a line range, and every included Rust block says which file it comes from.
//! - [`html`]: the built book contains no include that mdBook left unexpanded.
//! - [`outputs`]: the demo outputs the book shows, `book/src/outputs/NN-slug.txt`, generated
//!   by running every step's demo, and the check that the committed ones are up to date.
//! - [`figures`]: every benchmark figure the book quotes is in the committed results.
//! - [`timelines`]: the timeline figures of the chapters, drawn from traces of real runs
//!   (`--trace FILE`), and the check that a new run has the committed figures' shape.
//! - [`lessons`]: every "lesson #N" in the book links to its entry in the bugs appendix.

pub mod diffs;
pub mod figures;
pub mod files;
pub mod html;
pub mod includes;
pub mod lessons;
pub mod outputs;
pub mod timelines;
