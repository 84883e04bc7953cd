//! The attempt's `Cargo.toml`: the stage's own, made to stand alone.
//!
//! A stage says `mio.workspace = true` and `edition.workspace = true`; an attempt lives outside
//! the workspace, so each such line gets the value the root `Cargo.toml` gives, the package
//! gets a name of its own (`workshop-05a`, no clash with `step-05`), and an empty
//! `[workspace]` table makes the attempt its own workspace. Both files are simple enough
//! (one `key = value` a line) that no TOML library is needed; anything else is an error.

use std::collections::BTreeMap;

/// The root manifest's shared values: `[workspace.package]` keys, `[workspace.dependencies]`
/// entries and the `[workspace.lints.*]` tables, each as the text after `=`.
#[derive(Debug, Default)]
pub struct Shared {
    package: BTreeMap<String, String>,
    dependencies: BTreeMap<String, String>,
    /// (table name after `workspace.`, its lines), e.g. (`lints.rust`, [...]).
    lints: Vec<(String, Vec<String>)>,
}

/// Reads the shared values out of the root `Cargo.toml`.
pub fn shared(root_manifest: &str) -> Shared {
    let mut shared = Shared::default();
    let mut table = String::new();
    for line in root_manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            table = trimmed.trim_matches(|c| c == '[' || c == ']').to_string();
            if let Some(lints) = table.strip_prefix("workspace.")
                && lints.starts_with("lints.")
            {
                shared.lints.push((lints.to_string(), Vec::new()));
            }
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            continue;
        };
        if trimmed.starts_with('#') {
            continue;
        }
        let (key, value) = (key.trim().to_string(), value.trim().to_string());
        match table.as_str() {
            "workspace.package" => {
                shared.package.insert(key, value);
            }
            "workspace.dependencies" => {
                shared.dependencies.insert(key, value);
            }
            name if name.starts_with("workspace.lints.") => {
                if let Some((_, lines)) = shared.lints.last_mut() {
                    lines.push(trimmed.to_string());
                }
            }
            _ => {}
        }
    }
    shared
}

/// The stage's manifest rewritten for an attempt named `package`.
pub fn standalone(stage_manifest: &str, shared: &Shared, package: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut table = String::new();
    for line in stage_manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            table = trimmed.trim_matches(|c| c == '[' || c == ']').to_string();
            if table != "lints" {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match (table.as_str(), key.strip_suffix(".workspace"), value) {
            ("package", _, _) if key == "name" => {
                out.push_str(&format!("name = \"{package}\"\n"));
            }
            ("package", Some(field), "true") => {
                let value = shared
                    .package
                    .get(field)
                    .ok_or_else(|| format!("the root Cargo.toml has no workspace `{field}`"))?;
                out.push_str(&format!("{field} = {value}\n"));
            }
            (table, Some(dependency), "true") if is_dependency_table(table) => {
                let value = shared.dependencies.get(dependency).ok_or_else(|| {
                    format!("the root Cargo.toml has no workspace dependency `{dependency}`")
                })?;
                out.push_str(&format!("{dependency} = {value}\n"));
            }
            ("lints", _, _) if key == "workspace" => {
                for (name, lines) in &shared.lints {
                    out.push_str(&format!("[{name}]\n"));
                    for line in lines {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
            (_, Some(_), _) => {
                return Err(format!("cannot rewrite `{trimmed}` in table [{table}]"));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.push_str(
        "\n# An attempt is a workspace of its own: it is not a member of the project's.\n\
         [workspace]\n",
    );
    Ok(out)
}

/// `[dependencies]` and `[dev-dependencies]`, also for one system only:
/// `[target.'cfg(unix)'.dev-dependencies]`.
fn is_dependency_table(table: &str) -> bool {
    let kind = match table.strip_prefix("target.") {
        Some(rest) => rest.rsplit('.').next().unwrap_or(""),
        None => table,
    };
    matches!(kind, "dependencies" | "dev-dependencies")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "[workspace]\nmembers = [\"x\"]\n\n[workspace.package]\nedition = \"2024\"\n\n[workspace.dependencies]\n# a comment = no\nmio = { version = \"1.2.5\", features = [\"net\"] }\n\n[workspace.lints.rust]\nmissing_docs = \"warn\"\n[workspace.lints.clippy]\nundocumented_unsafe_blocks = \"deny\"\n";

    const STAGE: &str = "[package]\nname = \"step-05\"\nedition.workspace = true\n\n[lib]\nname = \"runtime\"\n\n[dependencies]\nmio.workspace = true\n\n[lints]\nworkspace = true\n";

    #[test]
    fn dependencies_for_one_system_become_concrete_too() {
        let stage = "[package]\nname = \"step-05\"\n\n[target.'cfg(unix)'.dev-dependencies]\nmio.workspace = true\n";
        let out = standalone(stage, &shared(ROOT), "workshop-05a").unwrap();
        assert!(
            out.contains("[target.'cfg(unix)'.dev-dependencies]\nmio = { version = \"1.2.5\", features = [\"net\"] }\n"),
            "{out}"
        );
        assert!(!is_dependency_table("target.'cfg(unix)'.features"));
    }

    #[test]
    fn workspace_values_become_concrete_and_the_attempt_stands_alone() {
        let out = standalone(STAGE, &shared(ROOT), "workshop-05a").unwrap();
        assert_eq!(
            out,
            "[package]\nname = \"workshop-05a\"\nedition = \"2024\"\n\n[lib]\nname = \"runtime\"\n\n\
             [dependencies]\nmio = { version = \"1.2.5\", features = [\"net\"] }\n\n\
             [lints.rust]\nmissing_docs = \"warn\"\n[lints.clippy]\nundocumented_unsafe_blocks = \"deny\"\n\
             \n# An attempt is a workspace of its own: it is not a member of the project's.\n[workspace]\n"
        );
    }

    #[test]
    fn an_unknown_workspace_dependency_is_an_error() {
        let stage = "[dependencies]\nslab.workspace = true\n";
        let error = standalone(stage, &shared(ROOT), "w").unwrap_err();
        assert!(error.contains("`slab`"), "{error}");
    }
}
