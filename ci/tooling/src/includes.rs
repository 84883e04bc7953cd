//! Checks every mdBook include in `book/src/**/*.md`.
//!
//! mdBook does not fail on a missing file or anchor: it logs, or inserts nothing, and the book
//! ships an empty code block. So for every `{{#include path}}`, `{{#include path:anchor}}`,
//! `{{#rustdoc_include ...}}` and `{{#playground path}}` this module checks that
//!
//! - the file exists, relative to the page that includes it;
//! - the include does not select lines by number (`path:N`, `path:N:M`, `path::M`...): the
//!   project names regions with `ANCHOR: name` / `ANCHOR_END: name` instead, so they survive
//!   edits;
//! - a named anchor has both marker lines and something other than blank lines between them;
//! - an included Rust file is labelled: one of the three non-empty lines before its code block
//!   is `<span class="filename">Filename: steps/NN-slug/src/file.rs</span>`, naming the same
//!   file, by its path from the repository root.

use std::path::Path;

use crate::files;

/// Which mdBook preprocessor link a [`Link`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `{{#include ...}}`
    Include,
    /// `{{#rustdoc_include ...}}`
    RustdocInclude,
    /// `{{#playground ...}}`
    Playground,
}

impl Kind {
    /// The name written after `{{#`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Include => "include",
            Kind::RustdocInclude => "rustdoc_include",
            Kind::Playground => "playground",
        }
    }
}

/// Which part of the file a [`Link`] takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The whole file: `{{#include path}}`.
    Whole,
    /// A named region: `{{#include path:name}}`.
    Anchor(String),
    /// Lines by number (`path:N`, `path:N:M`, `path::M`, `path:N:`): forbidden here. Holds
    /// what follows the path's first `:`.
    Lines(String),
}

/// One include link found in a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The kind of link.
    pub kind: Kind,
    /// The path as written, without the selector.
    pub path: String,
    /// The part of the file taken.
    pub selector: Selector,
    /// The 1-based line of the page where the link starts.
    pub line: usize,
}

/// Finds the include links of a page, with mdBook's syntax: `{{#kind args}}`, optional
/// whitespace after `{{`, the path is the first word of `args`, and a link written `\{{#...}}`
/// is escaped (shown literally, not expanded). Links of other kinds (`title`...) are skipped.
pub fn parse_links(text: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("{{") {
        let start = from + found;
        from = start + 2;
        if text[..start].ends_with('\\') {
            continue;
        }
        let rest = &text[start + 2..];
        // mdBook's pattern is `\{\{\s*#([a-zA-Z0-9_]+)\s*([^}]+)\}\}`.
        let Some(close) = rest.find('}') else { break };
        if !rest[close..].starts_with("}}") {
            continue;
        }
        let Some(body) = rest[..close].trim_start().strip_prefix('#') else {
            continue;
        };
        let name_len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let kind = match &body[..name_len] {
            "include" => Kind::Include,
            "rustdoc_include" => Kind::RustdocInclude,
            "playground" => Kind::Playground,
            _ => continue,
        };
        let target = body[name_len..].split_whitespace().next().unwrap_or("");
        let (path, selector) = match (kind, target.split_once(':')) {
            (Kind::Playground, _) | (_, None) => (target, Selector::Whole),
            (_, Some((path, after))) => (path, selector(after)),
        };
        links.push(Link {
            kind,
            path: path.to_string(),
            selector,
            line: text[..start].matches('\n').count() + 1,
        });
        from = start + 2 + close + 2;
    }
    links
}

/// Classifies what follows `path:` the way mdBook does: a number or nothing before the next
/// `:` means a line range, anything else names an anchor.
fn selector(after: &str) -> Selector {
    let first = after.split(':').next().unwrap_or("");
    if first.is_empty() || first.parse::<usize>().is_ok() {
        Selector::Lines(after.to_string())
    } else {
        Selector::Anchor(first.to_string())
    }
}

/// Why an anchor cannot be included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorProblem {
    /// No `ANCHOR: name` line.
    NoStart,
    /// `ANCHOR: name` but no `ANCHOR_END: name` after it.
    NoEnd,
    /// Only blank lines between the two markers.
    Empty,
}

/// The lines mdBook includes for `name`: those after the first `ANCHOR: name` line and before
/// the next `ANCHOR_END: name` line, without any marker lines (of any anchor) in between.
pub fn anchor_region<'a>(text: &'a str, name: &str) -> Result<Vec<&'a str>, AnchorProblem> {
    let mut lines = text.lines();
    lines
        .by_ref()
        .find(|line| marker(line, "ANCHOR:") == Some(name))
        .ok_or(AnchorProblem::NoStart)?;
    let mut body = Vec::new();
    for line in lines {
        let end = marker(line, "ANCHOR_END:");
        if end == Some(name) {
            return if body.iter().any(|line: &&str| !line.trim().is_empty()) {
                Ok(body)
            } else {
                Err(AnchorProblem::Empty)
            };
        }
        if end.is_none() && marker(line, "ANCHOR:").is_none() {
            body.push(line);
        }
    }
    Err(AnchorProblem::NoEnd)
}

/// The anchor name after `tag` (`ANCHOR:` or `ANCHOR_END:`) on a line, as mdBook reads it:
/// optional whitespace, then word characters and dashes.
fn marker<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    line.match_indices(tag).find_map(|(at, _)| {
        let rest = line[at + tag.len()..].trim_start();
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        (len > 0).then(|| &rest[..len])
    })
}

/// For each line of a page, the index of the line that opened the fenced code block it is
/// inside of (`None` outside blocks and on the fence lines themselves).
fn enclosing_fences(lines: &[&str]) -> Vec<Option<usize>> {
    // (line index, fence character, fence length) of the open block.
    let mut open: Option<(usize, char, usize)> = None;
    let mut inside = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        let fence = fence(line);
        match open {
            Some((start, ch, len)) => {
                if let Some((c, n, info)) = fence
                    && c == ch
                    && n >= len
                    && info.trim().is_empty()
                {
                    open = None;
                    inside.push(None);
                } else {
                    inside.push(Some(start));
                }
            }
            None => {
                if let Some((c, n, info)) = fence
                    && !(c == '`' && info.contains('`'))
                {
                    open = Some((index, c, n));
                }
                inside.push(None);
            }
        }
    }
    inside
}

/// `Some((char, length, info string))` if the line is a code fence: three or more backticks
/// or tildes, after any indentation.
fn fence(line: &str) -> Option<(char, usize, &str)> {
    let line = line.trim_start();
    let ch = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = line.find(|c| c != ch).unwrap_or(line.len());
    (len >= 3).then(|| (ch, len, &line[len..]))
}

/// The file a label line names: what follows `Filename:` up to the next `<` or whitespace.
fn filename_label(line: &str) -> Option<&str> {
    let (_, after) = line.split_once("Filename:")?;
    let after = after.trim_start();
    let len = after
        .find(|c: char| c == '<' || c.is_whitespace())
        .unwrap_or(after.len());
    (len > 0).then(|| &after[..len])
}

/// The file named by a `Filename:` label among the three non-empty lines before line `index`,
/// the nearest first; `None` if there is no label.
pub fn label_before<'a>(lines: &[&'a str], index: usize) -> Option<&'a str> {
    lines[..index.min(lines.len())]
        .iter()
        .rev()
        .filter(|line| !line.trim().is_empty())
        .take(3)
        .find_map(|line| filename_label(line))
}

/// Checks the links of one page. `page` is the page's path, `root` the repository root
/// (labels name files relative to it). Returns how many links there were and the problems,
/// each starting with `page:line:`.
pub fn check_page(root: &Path, page: &Path, text: &str) -> (usize, Vec<String>) {
    let links = parse_links(text);
    let lines: Vec<&str> = text.lines().collect();
    let fences = enclosing_fences(&lines);
    let page_dir = page.parent().unwrap_or(Path::new(""));
    let mut problems = Vec::new();
    for link in &links {
        let here = format!("{}:{}", files::display_relative(page, root), link.line);
        let written = match &link.selector {
            Selector::Whole => link.path.clone(),
            Selector::Anchor(name) => format!("{}:{name}", link.path),
            Selector::Lines(range) => format!("{}:{range}", link.path),
        };
        let shown = format!("{{{{#{} {written}}}}}", link.kind.name());
        if link.path.is_empty() {
            problems.push(format!("{here}: {shown} names no file"));
            continue;
        }
        let target = files::normalize(&page_dir.join(&link.path));
        let target_shown = files::display_relative(&target, root);
        if let Selector::Lines(_) = link.selector {
            problems.push(format!(
                "{here}: {shown} selects lines by number; mark the region with \
                 `ANCHOR: name` / `ANCHOR_END: name` lines and include `{}:name`",
                link.path
            ));
        }
        if !target.is_file() {
            problems.push(format!("{here}: {shown}: no such file {target_shown}"));
            continue;
        }
        if let Selector::Anchor(name) = &link.selector {
            let problem = match files::read(&target) {
                Err(e) => Some(e),
                Ok(bytes) => match anchor_region(&String::from_utf8_lossy(&bytes), name) {
                    Ok(_) => None,
                    Err(AnchorProblem::NoStart) => {
                        Some(format!("no `ANCHOR: {name}` line in {target_shown}"))
                    }
                    Err(AnchorProblem::NoEnd) => Some(format!(
                        "`ANCHOR: {name}` has no `ANCHOR_END: {name}` after it in {target_shown}"
                    )),
                    Err(AnchorProblem::Empty) => {
                        Some(format!("anchor `{name}` in {target_shown} is empty"))
                    }
                },
            };
            if let Some(problem) = problem {
                problems.push(format!("{here}: {shown}: {problem}"));
            }
        }
        if link.path.ends_with(".rs") {
            let at = link.line - 1;
            let block = fences.get(at).copied().flatten().unwrap_or(at);
            match label_before(&lines, block) {
                Some(label) if label == target_shown => {}
                Some(label) => problems.push(format!(
                    "{here}: {shown}: the label before the code block names {label}, \
                     but the block includes {target_shown}"
                )),
                None => problems.push(format!(
                    "{here}: {shown}: say which file the code comes from: put \
                     `<span class=\"filename\">Filename: {target_shown}</span>` \
                     on one of the 3 non-empty lines before the code block"
                )),
            }
        }
    }
    (links.len(), problems)
}

/// Checks every `.md` page under `src` (in a stable order). Returns how many links there
/// were and the problems.
pub fn check_book(root: &Path, src: &Path) -> Result<(usize, Vec<String>), String> {
    if !src.is_dir() {
        return Err(format!(
            "no book sources: {} is not a folder",
            src.display()
        ));
    }
    let mut count = 0;
    let mut problems = Vec::new();
    for page in files::walk(src, ".md")? {
        let text = files::read_text(&page)?;
        let (links, found) = check_page(root, &page, &text);
        count += links;
        problems.extend(found);
    }
    Ok((count, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::TempDir;

    fn link(kind: Kind, path: &str, selector: Selector, line: usize) -> Link {
        Link {
            kind,
            path: path.to_string(),
            selector,
            line,
        }
    }

    #[test]
    fn parses_every_include_form() {
        let text = "intro\n\
            {{#include a.rs}}\n\
            {{#include ../b.rs:signal}} and {{#rustdoc_include c.rs:main-loop}}\n\
            {{#include d.rs:3}} {{#include d.rs:3:9}} {{#include d.rs::9}} {{#include d.rs:3:}}\n\
            {{ #include e.rs:x }}\n\
            {{#playground f.rs editable}}\n";
        let anchor = |s: &str| Selector::Anchor(s.to_string());
        let lines = |s: &str| Selector::Lines(s.to_string());
        assert_eq!(
            parse_links(text),
            vec![
                link(Kind::Include, "a.rs", Selector::Whole, 2),
                link(Kind::Include, "../b.rs", anchor("signal"), 3),
                link(Kind::RustdocInclude, "c.rs", anchor("main-loop"), 3),
                link(Kind::Include, "d.rs", lines("3"), 4),
                link(Kind::Include, "d.rs", lines("3:9"), 4),
                link(Kind::Include, "d.rs", lines(":9"), 4),
                link(Kind::Include, "d.rs", lines("3:"), 4),
                link(Kind::Include, "e.rs", anchor("x"), 5),
                link(Kind::Playground, "f.rs", Selector::Whole, 6),
            ]
        );
    }

    #[test]
    fn skips_escaped_and_other_links() {
        let text = "\\{{#include a.rs}} {{#title Hello}} {{ not a link }} {{#include b.rs}}";
        assert_eq!(
            parse_links(text),
            vec![link(Kind::Include, "b.rs", Selector::Whole, 1)]
        );
    }

    #[test]
    fn anchor_region_takes_the_lines_between_the_markers() {
        let text = "a\n// ANCHOR: all\n// ANCHOR: part\nb\n// ANCHOR_END: part\nc\n// ANCHOR_END: all\nd\n";
        assert_eq!(anchor_region(text, "all"), Ok(vec!["b", "c"]));
        assert_eq!(anchor_region(text, "part"), Ok(vec!["b"]));
        // A name is matched whole, not as a prefix.
        assert_eq!(anchor_region(text, "al"), Err(AnchorProblem::NoStart));
    }

    #[test]
    fn anchor_region_reports_missing_unclosed_and_empty() {
        assert_eq!(
            anchor_region("x\n// ANCHOR_END: a\n", "a"),
            Err(AnchorProblem::NoStart)
        );
        assert_eq!(
            anchor_region("// ANCHOR: a\nx\n", "a"),
            Err(AnchorProblem::NoEnd)
        );
        assert_eq!(
            anchor_region("// ANCHOR: a\n\n   \n// ANCHOR_END: a\n", "a"),
            Err(AnchorProblem::Empty)
        );
        // Only other markers inside: empty too, because mdBook drops marker lines.
        assert_eq!(
            anchor_region(
                "// ANCHOR: a\n// ANCHOR: b\n// ANCHOR_END: b\n// ANCHOR_END: a\n",
                "a"
            ),
            Err(AnchorProblem::Empty)
        );
    }

    #[test]
    fn label_is_found_within_three_non_empty_lines() {
        let lines = [
            "<span class=\"filename\">Filename: steps/01-block-on/src/lib.rs</span>",
            "",
            "```rust",
        ];
        assert_eq!(
            label_before(&lines, 2),
            Some("steps/01-block-on/src/lib.rs")
        );
        let far = ["Filename: a.rs", "one", "", "two", "three", "```rust"];
        assert_eq!(label_before(&far, 5), None);
    }

    #[test]
    fn fences_are_tracked() {
        let lines = [
            "text",
            "```rust",
            "{{#include a.rs}}",
            "```",
            "after",
            "~~~",
            "x",
            "~~~",
        ];
        assert_eq!(
            enclosing_fences(&lines),
            vec![None, None, Some(1), None, None, None, Some(5), None]
        );
    }

    /// A repository with one step file and one page; returns the problems of the page.
    fn check(page_text: &str) -> Vec<String> {
        let dir = TempDir::new("tooling-test-includes").expect("temp dir");
        let root = dir.path();
        let source = "// ANCHOR: good\nfn good() {}\n// ANCHOR_END: good\n\
                      // ANCHOR: empty\n\n// ANCHOR_END: empty\n// ANCHOR: open\nx\n";
        files::write(&root.join("steps/01-a/src/lib.rs"), source.as_bytes()).expect("write");
        let page = root.join("book/src/ch.md");
        files::write(&page, page_text.as_bytes()).expect("write");
        check_book(root, &root.join("book/src")).expect("check").1
    }

    #[test]
    fn a_labelled_anchor_include_passes() {
        let page = "Some prose.\n\n\
            <span class=\"filename\">Filename: steps/01-a/src/lib.rs</span>\n\n\
            ```rust\n{{#include ../../steps/01-a/src/lib.rs:good}}\n```\n";
        assert_eq!(check(page), Vec::<String>::new());
    }

    #[test]
    fn every_kind_of_broken_include_is_reported() {
        let label = "Filename: steps/01-a/src/lib.rs\n```rust\n";
        let page = format!(
            "{label}{{{{#include ../../steps/01-a/src/lib.rs:missing}}}}\n```\n\
             {label}{{{{#include ../../steps/01-a/src/lib.rs:empty}}}}\n```\n\
             {label}{{{{#include ../../steps/01-a/src/lib.rs:open}}}}\n```\n\
             {label}{{{{#include ../../steps/01-a/src/lib.rs:1:3}}}}\n```\n\
             {{{{#include ../../steps/01-a/src/nope.txt}}}}\n\
             ```rust\n{{{{#include ../../steps/01-a/src/lib.rs:good}}}}\n```\n\
             Filename: steps/01-a/src/main.rs\n```rust\n\
             {{{{#rustdoc_include ../../steps/01-a/src/lib.rs:good}}}}\n```\n"
        );
        let problems = check(&page);
        let expect = [
            (
                "ch.md:3:",
                "no `ANCHOR: missing` line in steps/01-a/src/lib.rs",
            ),
            (
                "ch.md:7:",
                "anchor `empty` in steps/01-a/src/lib.rs is empty",
            ),
            ("ch.md:11:", "`ANCHOR: open` has no `ANCHOR_END: open`"),
            ("ch.md:15:", "selects lines by number"),
            ("ch.md:17:", "no such file steps/01-a/src/nope.txt"),
            ("ch.md:19:", "say which file the code comes from"),
            (
                "ch.md:23:",
                "names steps/01-a/src/main.rs, but the block includes steps/01-a/src/lib.rs",
            ),
        ];
        assert_eq!(problems.len(), expect.len(), "{problems:#?}");
        for (problem, (at, what)) in problems.iter().zip(expect) {
            assert!(problem.starts_with(&format!("book/src/{at}")), "{problem}");
            assert!(problem.contains(what), "{problem} should say {what}");
        }
    }
}
