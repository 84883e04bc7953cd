//! Checks that every "lesson #N" in the book's prose is a link to entry N of the bugs
//! appendix, `appendix-bugs.md#lesson-N`, and that the appendix has that entry: a heading
//! with the id `{#lesson-N}`.
//!
//! Code blocks and inline code are skipped: a test's comment that says "lesson #7" is code.

use std::path::Path;

use crate::figures::prose_only;
use crate::files;

/// The appendix the lessons link to, relative to `book/src`.
pub const APPENDIX: &str = "appendix-bugs.md";

/// Pages not checked yet, relative to `book/src`, each with the reason.
pub const NOT_YET: &[(&str, &str)] = &[];

/// The lesson numbers an appendix page defines: its `{#lesson-N}` heading ids.
pub fn defined(appendix: &str) -> Vec<u32> {
    appendix
        .lines()
        .filter(|line| line.starts_with('#'))
        .filter_map(|line| {
            let at = line.find("{#lesson-")? + "{#lesson-".len();
            let digits: String = line[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

/// The problems of one page: each "lesson #N" (or "lessons #N and #M") that is not the text
/// of a link to `{target}#lesson-N`, and each link to a lesson the appendix doesn't have.
/// `target` is `appendix-bugs.md`, or empty on the appendix itself.
pub fn check_page(shown: &str, text: &str, target: &str, lessons: &[u32]) -> Vec<String> {
    let prose = prose_only(text);
    // One line, so that "lesson" at the end of a line and "#3" at the start of the next are
    // read together; a newline is one byte, so offsets still point into `prose`.
    let flat = prose.replace('\n', " ");
    let lower = flat.to_ascii_lowercase();
    let mut problems = Vec::new();
    let mut from = 0;
    while let Some(found) = lower[from..].find('#') {
        let hash = from + found;
        from = hash + 1;
        let digits: String = flat[hash + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if digits.is_empty() {
            continue;
        }
        let before = lower[..hash].trim_end_matches('[').trim_end();
        // "lessons #1 and #2", the first one already a link: "...#lesson-1) and #2".
        let after_a_lesson_link = before
            .strip_suffix(") and")
            .and_then(|rest| rest.rsplit('(').next())
            .is_some_and(|url| url.contains("#lesson-"));
        let is_lesson =
            before.ends_with("lesson") || before.ends_with("lessons") || after_a_lesson_link;
        if !is_lesson {
            continue;
        }
        let at = format!("{shown}:{}", prose[..hash].matches('\n').count() + 1);
        let number: u32 = digits.parse().unwrap_or(0);
        let link = format!("#{digits}]({target}#lesson-{digits})");
        if !flat[hash..].starts_with(&link) {
            problems.push(format!(
                "{at}: lesson #{digits} is not a link; write it \
                 [lesson #{digits}]({target}#lesson-{digits})"
            ));
        } else if !lessons.contains(&number) {
            problems.push(format!(
                "{at}: lesson #{digits} has no entry in {APPENDIX} (no `{{#lesson-{digits}}}` heading)"
            ));
        }
    }
    problems
}

/// Checks every page of `src` but those in [`NOT_YET`]. Returns how many pages were checked
/// and the problems.
pub fn check_book(root: &Path, src: &Path) -> Result<(usize, Vec<String>), String> {
    let lessons = defined(&files::read_text(&src.join(APPENDIX))?);
    if lessons.is_empty() {
        return Err(format!("{APPENDIX} has no `{{#lesson-N}}` headings"));
    }
    let mut count = 0;
    let mut problems = Vec::new();
    for page in files::walk(src, ".md")? {
        let name = files::display_relative(&page, src);
        if NOT_YET.iter().any(|(skipped, _)| *skipped == name) {
            continue;
        }
        let target = if name == APPENDIX { "" } else { APPENDIX };
        let text = files::read_text(&page)?;
        let shown = files::display_relative(&page, root);
        problems.extend(check_page(&shown, &text, target, &lessons));
        count += 1;
    }
    Ok((count, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_appendix_entries() {
        let appendix =
            "# Bugs\n## 1. Lost {#lesson-1}\ntext {#lesson-9}\n## 12. Memory {#lesson-12}\n";
        assert_eq!(defined(appendix), [1, 12]);
    }

    #[test]
    fn a_lesson_must_be_a_link_to_an_existing_entry() {
        let page = "See [lesson #1](appendix-bugs.md#lesson-1) and lesson #3.\n\
                    Also [lessons #1](appendix-bugs.md#lesson-1) and #12, and\n\
                    [Lesson #7](appendix-bugs.md#lesson-7), issue #42, `lesson #5`, [lesson\n\
                    #3](appendix-bugs.md#lesson-3), lesson\n#1.\n\
                    ```rust\n// lesson #8\n```\n";
        let problems = check_page("ch.md", page, APPENDIX, &[1, 3, 12]);
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("ch.md:1: lesson #3 is not a link"));
        assert!(problems[1].starts_with("ch.md:2: lesson #12 is not a link"));
        assert!(problems[2].starts_with("ch.md:3: lesson #7 has no entry"));
        assert!(problems[3].starts_with("ch.md:5: lesson #1 is not a link"));
    }

    #[test]
    fn the_appendix_links_to_itself() {
        let page = "as in [lesson #3](#lesson-3), not lesson #1\n";
        let problems = check_page("appendix-bugs.md", page, "", &[1, 3]);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].contains("lesson #1 is not a link"));
    }
}
