//! Templates (minijinja): HTML escapes every value unless marked safe; Markdown values go through
//! the `md` filter, which neutralises Markdown syntax and inline HTML.

use minijinja::{Environment, Value};
use serde::Serialize;

use crate::error::{ReportError, Result};

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Auto-escaping follows the name: `.html` is HTML-escaped, `.md` and `.css` are not.
    for (name, source) in [
        ("style.css", include_str!("../templates/style.css")),
        ("prose.txt", include_str!("../templates/prose.txt")),
        ("base.html", include_str!("../templates/base.html")),
        ("report.html", include_str!("../templates/report.html")),
        ("report.md", include_str!("../templates/report.md")),
        ("compare.html", include_str!("../templates/compare.html")),
    ] {
        env.add_template(name, source).expect("the report templates parse");
    }
    env.add_filter("md", markdown_text);
    env.add_filter("fence", fenced_text);
    env
}

/// Makes a user string inert in Markdown: no HTML, no emphasis, links or table breaks, one line.
pub fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '(' | ')' => {
                out.push('\\');
                out.push(c);
            }
            other => out.push(other),
        }
    }
    out
}

/// Keeps text inside a fenced code block from closing it.
fn fenced_text(text: &str) -> String {
    text.replace("```", "`\u{200b}``")
}

/// Renders template `name` with `context`.
pub fn render(name: &str, context: &impl Serialize) -> Result<String> {
    let env = environment();
    let template = env.get_template(name).expect("the report templates are registered");
    template
        .render(Value::from_serialize(context))
        .map_err(|source| ReportError::Template { template: name.into(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_text_is_inert() {
        assert_eq!(markdown_text("<script>a|b</script>"), "&lt;script&gt;a\\|b&lt;/script&gt;");
        assert_eq!(markdown_text("[x](javascript:y)"), "\\[x\\]\\(javascript:y\\)");
        assert_eq!(markdown_text("two\nlines"), "two lines");
    }
}
