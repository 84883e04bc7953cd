//! What a test checks, read from its own `///` doc comment in the stage's `tests/*.rs`, so the
//! runner never restates it. A test without one is described by its name, in words.

/// The doc comment of `fn name` in a test file's text, as one paragraph (the `///` lines above
/// the function, past its attributes, joined with spaces); its name in words if it has none.
pub fn describe(test_file: &str, name: &str) -> String {
    let lines: Vec<&str> = test_file.lines().collect();
    let signature = format!("fn {name}(");
    let Some(at) = lines
        .iter()
        .position(|line| line.trim_start().starts_with(&signature))
    else {
        return words(name);
    };
    let mut doc = Vec::new();
    for line in lines[..at].iter().rev() {
        let line = line.trim();
        if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim());
        } else if line.starts_with("#[") {
            continue;
        } else {
            break;
        }
    }
    if doc.is_empty() {
        return words(name);
    }
    doc.reverse();
    doc.join(" ").trim().to_string()
}

/// The first sentence of a description: up to the first `. ` or `: `, with its full stop.
pub fn first_sentence(text: &str) -> String {
    let end = text.find(". ").map(|at| at + 1).unwrap_or(text.len());
    text[..end].to_string()
}

/// `wake_during_poll_is_kept` as `Wake during poll is kept.`
fn words(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// The lesson numbers (`Lesson #3`, `lesson #3`) a description names.
pub fn lessons(text: &str) -> Vec<u32> {
    let lower = text.to_lowercase();
    let mut found: Vec<u32> = lower
        .match_indices("lesson #")
        .filter_map(|(at, tag)| {
            let digits: String = lower[at + tag.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// The `#[test]` functions of a test file, in order: the name of each `fn` whose attributes
/// above it include `#[test]`.
pub fn test_names(test_file: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut is_test = false;
    for line in test_file.lines() {
        let line = line.trim();
        if line == "#[test]" {
            is_test = true;
        } else if line.starts_with("#[") || line.starts_with("///") {
            continue;
        } else {
            if is_test
                && let Some(rest) = line.strip_prefix("fn ")
                && let Some(name) = rest.split('(').next()
            {
                names.push(name.to_string());
            }
            is_test = false;
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "mod common;\n\n/// Lesson #1: a wake that happens while\n/// the future is polled is kept.\n#[test]\nfn wake_during_poll_is_kept() {}\n\n#[test]\n#[ignore]\nfn no_doc() {}\n\nfn helper() {}\n";

    #[test]
    fn the_doc_comment_is_read_across_attributes_and_lines() {
        assert_eq!(
            describe(FILE, "wake_during_poll_is_kept"),
            "Lesson #1: a wake that happens while the future is polled is kept."
        );
        assert_eq!(describe(FILE, "no_doc"), "No doc.");
        assert_eq!(describe(FILE, "missing"), "Missing.");
    }

    #[test]
    fn lessons_and_first_sentences() {
        assert_eq!(lessons("Lesson #1 and lesson #12, as lesson #1."), [1, 12]);
        assert_eq!(first_sentence("One. Two."), "One.");
        assert_eq!(first_sentence("Only one"), "Only one");
    }

    #[test]
    fn test_names_are_the_functions_marked_test() {
        assert_eq!(test_names(FILE), ["wake_during_poll_is_kept", "no_doc"]);
    }
}
