//! Exercise regions in a stage's source, and the holes cut into them.
//!
//! A region is marked like an mdBook include region, so that the book and the step diffs,
//! which already drop every `ANCHOR` line, never show the markers:
//!
//! ```text
//!     // ANCHOR: exercise-05a-token register the source under a fresh token
//!     ...the lines the attendee writes...
//!     // ANCHOR_END: exercise-05a-token
//! ```
//!
//! The name is `exercise-<id>-<part>`; the words after it are the hint the hole shows. A
//! region holds whole lines at the end of a function body (usually the whole body), so that
//! replacing them with `todo!()`, which has every type, still compiles.

/// One marked region of a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// The exercise it belongs to, e.g. `05a`.
    pub exercise: String,
    /// The anchor name, e.g. `exercise-05a-token`.
    pub name: String,
    /// What to write there, from the start marker.
    pub hint: String,
    /// Index of the start marker line.
    pub start: usize,
    /// Index of the end marker line.
    pub end: usize,
}

impl Region {
    /// How many lines the attendee writes: the non-blank lines between the markers.
    pub fn lines_to_write(&self, lines: &[&str]) -> usize {
        lines[self.start + 1..self.end]
            .iter()
            .filter(|line| !line.trim().is_empty())
            .count()
    }
}

/// The marker prefix of an exercise region's name.
const PREFIX: &str = "exercise-";

/// The anchor name after `tag` on a line, and the rest of the line after the name.
fn marker<'a>(line: &'a str, tag: &str) -> Option<(&'a str, &'a str)> {
    let at = line.find(tag)?;
    let rest = line[at + tag.len()..].trim_start();
    let len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    (len > 0).then(|| (&rest[..len], rest[len..].trim()))
}

/// The exercise regions of a file's lines (its lines as `str::split_inclusive` gives them, or
/// without endings). A start without an end, an end without a start, or two regions inside
/// each other are errors that name the line.
pub fn find(lines: &[&str]) -> Result<Vec<Region>, String> {
    let mut regions = Vec::new();
    let mut open: Option<Region> = None;
    for (index, line) in lines.iter().enumerate() {
        if let Some((name, hint)) = marker(line, "ANCHOR:")
            && let Some(after) = name.strip_prefix(PREFIX)
        {
            if let Some(region) = &open {
                return Err(format!(
                    "line {}: `{name}` starts inside `{}`",
                    index + 1,
                    region.name
                ));
            }
            let exercise = after.split('-').next().unwrap_or("").to_string();
            if exercise.len() < 2 || !after.contains('-') {
                return Err(format!(
                    "line {}: an exercise region is named `exercise-<id>-<part>`, not `{name}`",
                    index + 1
                ));
            }
            if hint.is_empty() {
                return Err(format!(
                    "line {}: `{name}` has no hint after its name",
                    index + 1
                ));
            }
            open = Some(Region {
                exercise,
                name: name.to_string(),
                hint: hint.to_string(),
                start: index,
                end: index,
            });
        } else if let Some((name, _)) = marker(line, "ANCHOR_END:")
            && name.starts_with(PREFIX)
        {
            match open.take() {
                Some(mut region) if region.name == name => {
                    region.end = index;
                    regions.push(region);
                }
                _ => return Err(format!("line {}: `{name}` ends no open region", index + 1)),
            }
        }
    }
    match open {
        Some(region) => Err(format!(
            "line {}: `{}` has no ANCHOR_END",
            region.start + 1,
            region.name
        )),
        None => Ok(regions),
    }
}

/// What to write into a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// The stage's own lines: the reference solution.
    Reference,
    /// One `todo!()` with the hint: the hole the attendee fills.
    Hole,
}

/// `text` with the regions of `exercise` filled as `fill` says; `see` is appended to each
/// hint (e.g. `see chapter 5, "Tokens"`). Marker lines stay, so the attendee sees where to
/// write. Returns the new text and how many regions were found.
pub fn fill(text: &str, exercise: &str, fill: Fill, see: &str) -> Result<(String, usize), String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let regions: Vec<Region> = find(&lines)?
        .into_iter()
        .filter(|region| region.exercise == exercise)
        .collect();
    if fill == Fill::Reference {
        return Ok((text.to_string(), regions.len()));
    }
    let mut out = String::with_capacity(text.len());
    let mut next = 0;
    for region in &regions {
        out.extend(lines[next..=region.start].iter().copied());
        let inner = &lines[region.start + 1..region.end];
        let indent_of = |line: &str| line.len() - line.trim_start().len();
        let model = inner
            .iter()
            .find(|line| !line.trim().is_empty())
            .unwrap_or(&lines[region.start]);
        let indent = &model[..indent_of(model)];
        let ending = if lines[region.start].ends_with("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let message = format!("{exercise}: {} ({see})", region.hint);
        out.push_str(&format!("{indent}todo!({message:?}){ending}"));
        next = region.end;
    }
    out.extend(lines[next..].iter().copied());
    Ok((out, regions.len()))
}

/// `text` without its region marker lines, exercise or not (every line with `ANCHOR:` or
/// `ANCHOR_END:`), for comparing an attempt with its stage as the book's step diffs do.
pub fn strip_markers(text: &str) -> String {
    text.split_inclusive('\n')
        .filter(|line| !line.contains("ANCHOR:") && !line.contains("ANCHOR_END:"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "fn a() -> u32 {\n    // ANCHOR: exercise-05a-one add them\n    let x = 1;\n\n    x + 1\n    // ANCHOR_END: exercise-05a-one\n}\nfn b() {\n    // ANCHOR: exercise-05b-two other\n    b();\n    // ANCHOR_END: exercise-05b-two\n}\n";

    #[test]
    fn finds_each_region_with_its_hint_and_size() {
        let lines: Vec<&str> = SOURCE.lines().collect();
        let regions = find(&lines).unwrap();
        assert_eq!(regions.len(), 2);
        assert_eq!(regions[0].exercise, "05a");
        assert_eq!(regions[0].hint, "add them");
        assert_eq!((regions[0].start, regions[0].end), (1, 5));
        assert_eq!(regions[0].lines_to_write(&lines), 2);
        assert_eq!(regions[1].exercise, "05b");
    }

    #[test]
    fn a_hole_replaces_only_its_exercise_lines_and_keeps_the_markers() {
        let (out, count) = fill(SOURCE, "05a", Fill::Hole, "see chapter 5").unwrap();
        assert_eq!(count, 1);
        assert!(out.contains(
            "    // ANCHOR: exercise-05a-one add them\n    todo!(\"05a: add them (see chapter 5)\")\n    // ANCHOR_END: exercise-05a-one\n"
        ));
        assert!(!out.contains("x + 1"));
        assert!(out.contains("    b();\n"), "05b's region is untouched");
    }

    #[test]
    fn the_reference_is_the_source_itself() {
        let (out, count) = fill(SOURCE, "05a", Fill::Reference, "").unwrap();
        assert_eq!((out.as_str(), count), (SOURCE, 1));
    }

    #[test]
    fn crlf_endings_are_kept() {
        let crlf = SOURCE.replace('\n', "\r\n");
        let (out, _) = fill(&crlf, "05a", Fill::Hole, "x").unwrap();
        assert!(out.contains("todo!(\"05a: add them (x)\")\r\n"));
        assert_eq!(out.matches('\n').count(), out.matches("\r\n").count());
    }

    #[test]
    fn malformed_regions_are_errors_that_name_the_line() {
        let open = ["// ANCHOR: exercise-01-a hint", "x"];
        assert!(find(&open).unwrap_err().starts_with("line 1:"));
        let stray = ["// ANCHOR_END: exercise-01-a"];
        assert!(find(&stray).unwrap_err().starts_with("line 1:"));
        let nested = ["// ANCHOR: exercise-01-a h", "// ANCHOR: exercise-01-b h"];
        assert!(find(&nested).unwrap_err().starts_with("line 2:"));
        let no_hint = ["// ANCHOR: exercise-01-a"];
        assert!(find(&no_hint).unwrap_err().contains("no hint"));
    }

    #[test]
    fn other_anchors_are_not_exercises() {
        let lines = ["// ANCHOR: signal", "x", "// ANCHOR_END: signal"];
        assert!(find(&lines).unwrap().is_empty());
    }

    #[test]
    fn stripping_drops_every_marker_line() {
        let text = "// ANCHOR: a\n// ANCHOR: exercise-01-x h\ny\n// ANCHOR_END: exercise-01-x\nz\n";
        assert_eq!(strip_markers(text), "y\nz\n");
    }
}
