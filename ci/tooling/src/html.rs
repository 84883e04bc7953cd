//! Checks the built book: no page may contain a raw `{{#`, the start of an include or other
//! preprocessor link that mdBook did not expand (a typo in its name, an unknown kind, a link
//! that lost its closing braces...).

use std::path::Path;

use crate::files;

/// The places where `text` contains `{{#`, as (1-based line, that line trimmed).
pub fn unexpanded_links(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.contains("{{#"))
        .map(|(index, line)| (index + 1, line.trim().chars().take(160).collect()))
        .collect()
}

/// Checks every `.html` file under `dir` (the built book). Returns how many pages were
/// checked and the problems, each starting with `file:line:`.
pub fn check_built_book(root: &Path, dir: &Path) -> Result<(usize, Vec<String>), String> {
    if !dir.is_dir() {
        return Err(format!(
            "no built book at {}: build it first (`mdbook build book`)",
            dir.display()
        ));
    }
    let pages = files::walk(dir, ".html")?;
    let mut problems = Vec::new();
    for page in &pages {
        let bytes = files::read(page)?;
        for (line, text) in unexpanded_links(&String::from_utf8_lossy(&bytes)) {
            problems.push(format!(
                "{}:{line}: an include mdBook did not expand: {text}",
                files::display_relative(page, root)
            ));
        }
    }
    Ok((pages.len(), problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::TempDir;

    #[test]
    fn finds_raw_links_with_their_line() {
        let page = "<p>ok { braces }</p>\n<code>{{#include ../x.rs:a}}</code>\n{{ fine }}\n";
        assert_eq!(
            unexpanded_links(page),
            vec![(2, "<code>{{#include ../x.rs:a}}</code>".to_string())]
        );
    }

    #[test]
    fn checks_every_page_of_the_built_book() {
        let temp = TempDir::new("tooling-test-html").expect("temp dir");
        let root = temp.path();
        let dir = root.join("book/book");
        files::write(&dir.join("index.html"), b"<p>fine</p>\n").expect("write");
        files::write(&dir.join("ch/one.html"), b"a\n{{#rustdoc_include x.rs}}\n").expect("write");
        files::write(&dir.join("search.js"), b"{{#not html}}\n").expect("write");
        let (pages, problems) = check_built_book(root, &dir).expect("check");
        assert_eq!(pages, 2);
        assert_eq!(
            problems,
            vec![
                "book/book/ch/one.html:2: an include mdBook did not expand: {{#rustdoc_include x.rs}}"
            ]
        );
        assert!(check_built_book(root, &root.join("missing")).is_err());
    }
}
