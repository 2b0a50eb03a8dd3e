//! Writing YAML the way the templates are read by people: block mappings, short-form
//! intrinsic functions (`!Ref`, `!Sub`), flow lists for short lists, and comments that say
//! why. Only what the generated templates need.

use std::fmt::Write;

/// A YAML value to write.
#[derive(Clone, Debug)]
pub enum Node {
    /// A block mapping.
    Map(Vec<Entry>),
    /// A block sequence.
    Seq(Vec<Node>),
    /// Text written as it is on the key's line: a scalar, a tag, a flow collection.
    Inline(String),
}

/// One key of a mapping, with the comment above it.
#[derive(Clone, Debug)]
pub struct Entry {
    pub comment: Option<String>,
    pub key: String,
    pub value: Node,
}

impl Node {
    pub fn map() -> Self {
        Node::Map(Vec::new())
    }

    /// Adds `key: value` (a mapping only).
    pub fn with(mut self, key: &str, value: impl Into<Node>) -> Self {
        self.push(key, value, None);
        self
    }

    /// Adds `key: value` when there is a value.
    pub fn with_some(mut self, key: &str, value: Option<impl Into<Node>>) -> Self {
        if let Some(value) = value {
            self.push(key, value, None);
        }
        self
    }

    /// Adds `key: value` with a comment above it.
    pub fn with_comment(
        mut self,
        comment: Option<&str>,
        key: &str,
        value: impl Into<Node>,
    ) -> Self {
        self.push(key, value, comment);
        self
    }

    fn push(&mut self, key: &str, value: impl Into<Node>, comment: Option<&str>) {
        match self {
            Node::Map(entries) => entries.push(Entry {
                comment: comment.map(str::to_owned),
                key: key.to_owned(),
                value: value.into(),
            }),
            _ => unreachable!("only a mapping takes keys"),
        }
    }

    /// Writes the node as the value of a key at `indent` spaces, or as a document when
    /// `indent` is 0 and the node is a mapping.
    fn write_value(&self, out: &mut String, indent: usize) {
        match self {
            Node::Inline(text) => {
                out.push(' ');
                out.push_str(text);
                out.push('\n');
            }
            Node::Map(entries) => {
                out.push('\n');
                write_entries(out, entries, indent + 2);
            }
            Node::Seq(items) => {
                out.push('\n');
                write_items(out, items, indent + 2);
            }
        }
    }
}

impl From<String> for Node {
    fn from(text: String) -> Self {
        Node::Inline(text)
    }
}

impl From<&str> for Node {
    fn from(text: &str) -> Self {
        Node::Inline(scalar(text))
    }
}

impl From<u32> for Node {
    fn from(number: u32) -> Self {
        Node::Inline(number.to_string())
    }
}

fn write_entries(out: &mut String, entries: &[Entry], indent: usize) {
    for entry in entries {
        write_comment(out, entry.comment.as_deref(), indent);
        let _ = write!(out, "{:indent$}{}:", "", entry.key);
        entry.value.write_value(out, indent);
    }
}

fn write_items(out: &mut String, items: &[Node], indent: usize) {
    for item in items {
        match item {
            Node::Inline(text) => {
                let _ = writeln!(out, "{:indent$}- {text}", "");
            }
            Node::Map(entries) => {
                // The first key shares the dash's line; its comment goes above the dash.
                let mut entries = entries.clone();
                if let Some(first) = entries.first_mut() {
                    write_comment(out, first.comment.take().as_deref(), indent);
                }
                let mut rest = String::new();
                write_entries(&mut rest, &entries, indent + 2);
                let body = rest.trim_start_matches(' ');
                let _ = write!(out, "{:indent$}- {body}", "");
            }
            Node::Seq(inner) => {
                let _ = writeln!(out, "{:indent$}-", "");
                write_items(out, inner, indent + 2);
            }
        }
    }
}

/// Comment lines, wrapped at 92 columns.
pub fn write_comment(out: &mut String, comment: Option<&str>, indent: usize) {
    let Some(comment) = comment else { return };
    let width = 92usize.saturating_sub(indent + 2).max(40);
    let mut line = String::new();
    for word in comment.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            let _ = writeln!(out, "{:indent$}# {line}", "");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{:indent$}# {line}", "");
    }
}

/// The resources of a stack (or any top-level section): `  Name:` blocks, a blank line
/// between them, each with an optional comment above.
pub fn write_section(out: &mut String, entries: &[Entry], indent: usize) {
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        write_entries(out, std::slice::from_ref(entry), indent);
    }
}

/// A mapping's entries written at `indent`.
pub fn render(entries: &[Entry], indent: usize) -> String {
    let mut out = String::new();
    write_entries(&mut out, entries, indent);
    out
}

/// A string as a YAML scalar: plain where YAML reads it back as the same string, else
/// double-quoted.
pub fn scalar(text: &str) -> String {
    if is_plain(text) {
        text.to_owned()
    } else {
        quoted(text)
    }
}

/// A string in double quotes, escaped.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_plain(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    let reserved_start = "-?:,[]{}#&*!|>'\"%@`".contains(first);
    let looks_typed = text.parse::<f64>().is_ok()
        || matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~" | "y" | "n"
        );
    !reserved_start
        && !looks_typed
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with(':')
        && !text.contains('\n')
        && text.trim() == text
}

/// A string in single quotes (JSON inside YAML reads best so).
pub fn single_quoted(text: &str) -> Node {
    Node::Inline(format!("'{}'", text.replace('\'', "''")))
}

/// `!Ref name`.
pub fn reference(name: &str) -> Node {
    Node::Inline(format!("!Ref {name}"))
}

/// `!Sub "text"`.
pub fn sub(text: &str) -> Node {
    Node::Inline(format!("!Sub {}", quoted(text)))
}

/// A flow list of already written items: `[a, b]`.
pub fn flow_list<I: IntoIterator<Item = String>>(items: I) -> Node {
    Node::Inline(format!(
        "[{}]",
        items.into_iter().collect::<Vec<_>>().join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_that_would_read_back_differently_are_quoted() {
        for (text, written) in [
            ("GET /api/x/{id}", "GET /api/x/{id}"),
            ("2.0", "\"2.0\""),
            ("true", "\"true\""),
            ("*", "\"*\""),
            ("a: b", "\"a: b\""),
            ("{ $.alert = \"x\" }", "\"{ $.alert = \\\"x\\\" }\""),
            ("cron(0 5 * * ? *)", "cron(0 5 * * ? *)"),
            ("", "\"\""),
        ] {
            assert_eq!(scalar(text), written, "{text}");
        }
    }

    #[test]
    fn nested_mappings_and_sequences_indent_by_two() {
        let node = Node::map().with("Type", "AWS::Logs::LogGroup").with(
            "Properties",
            Node::map().with(
                "List",
                Node::Seq(vec![
                    Node::map()
                        .with("Effect", "Allow")
                        .with("Action", "s3:GetObject"),
                    reference("X"),
                ]),
            ),
        );
        let Node::Map(entries) = node else {
            unreachable!()
        };
        assert_eq!(
            render(&entries, 2),
            "  Type: AWS::Logs::LogGroup\n  Properties:\n    List:\n      - Effect: Allow\n        Action: s3:GetObject\n      - !Ref X\n"
        );
    }
}
