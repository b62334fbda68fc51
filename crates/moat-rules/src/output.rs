//! A rule's output template: literal text with `%field` references, rendered for one event.
//!
//! As in Falco, a reference is `%` followed by a catalogued field (`%proc.name`,
//! `%proc.aname[2]`, `%evt.arg.flags`) or `%(field)`; the longest catalogued field that
//! starts after the `%` is taken, so `%proc.name.` ends before the last dot. `%%` is a literal
//! `%`, and `%container.info` is expanded to `container_id=%container.id
//! container_name=%container.name`, Falco's default for it. Fields without a value for the
//! event render as `<NA>`.

use crate::ast::FieldExpr;
use crate::event::{Event, FieldValue};
use crate::fields;

/// What Falco renders for a field without a value.
pub const NOT_AVAILABLE: &str = "<NA>";

/// Falco's default expansion of `%container.info`.
const CONTAINER_INFO: &str = "container_id=%container.id container_name=%container.name";

/// A parsed output template.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    template: String,
    parts: Vec<Part>,
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Field(FieldExpr),
}

/// A template referring to a field that is not catalogued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("output refers to unknown field '{field}' at byte {offset}")]
pub struct OutputError {
    /// The text after the `%`.
    pub field: String,
    /// Where the `%` is in the template (after `%container.info` expansion).
    pub offset: usize,
}

impl Output {
    /// Parses a template, checking every field against the catalogue.
    pub fn parse(template: &str) -> Result<Output, OutputError> {
        let expanded = template.replace("%container.info", CONTAINER_INFO);
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = expanded.as_str();
        while let Some(percent) = rest.find('%') {
            text.push_str(&rest[..percent]);
            let after = &rest[percent + 1..];
            if let Some(tail) = after.strip_prefix('%') {
                text.push('%');
                rest = tail;
                continue;
            }
            let offset = expanded.len() - rest.len() + percent;
            let (field, tail) = read_reference(after, offset)?;
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Field(field));
            rest = tail;
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Output {
            template: template.to_string(),
            parts,
        })
    }

    /// The template as written.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// The fields the template refers to, in order.
    pub fn fields(&self) -> impl Iterator<Item = &FieldExpr> {
        self.parts.iter().filter_map(|part| match part {
            Part::Field(field) => Some(field),
            Part::Text(_) => None,
        })
    }

    /// The template with every field replaced by its value for `event`.
    pub fn render(&self, event: &dyn Event) -> String {
        let mut rendered = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => rendered.push_str(text),
                Part::Field(field) => match event.field(field) {
                    Some(value) => rendered.push_str(&format_value(&value)),
                    None => rendered.push_str(NOT_AVAILABLE),
                },
            }
        }
        rendered
    }
}

/// Reads the reference after a `%`: `(field)` or the longest catalogued field starting
/// `after`. Returns the field and the text after it.
fn read_reference(after: &str, offset: usize) -> Result<(FieldExpr, &str), OutputError> {
    let unknown = |field: &str| OutputError {
        field: field.to_string(),
        offset,
    };
    if let Some(inner) = after.strip_prefix('(') {
        let end = inner.find(')').ok_or_else(|| unknown(inner))?;
        let field = fields::split_field(&inner[..end]).ok_or_else(|| unknown(&inner[..end]))?;
        return Ok((field, &inner[end + 1..]));
    }
    let token_len = reference_token_len(after);
    let token = &after[..token_len];
    // The token may run past the field (`%proc.name.` at the end of a sentence): take the
    // longest prefix that the catalogue reads as a whole field.
    (1..=token_len)
        .rev()
        .filter(|&len| token.is_char_boundary(len))
        .find_map(|len| fields::split_field(&token[..len]).map(|field| (field, &after[len..])))
        .ok_or_else(|| unknown(if token.is_empty() { after } else { token }))
}

/// The length of the longest run of field-name characters, with `[...]` arguments.
fn reference_token_len(text: &str) -> usize {
    let mut len = 0;
    let bytes = text.as_bytes();
    while len < bytes.len() {
        let byte = bytes[len];
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'.' {
            len += 1;
        } else if byte == b'[' {
            match text[len..].find(']') {
                Some(close) => len += close + 1,
                None => break,
            }
        } else {
            break;
        }
    }
    len
}

/// A value as Falco prints it: strings as they are, numbers in decimal, addresses as text,
/// several values as `(a,b)`.
pub fn format_value(value: &FieldValue<'_>) -> String {
    match value {
        FieldValue::Str(text) => text.to_string(),
        FieldValue::U64(number) => number.to_string(),
        FieldValue::I64(number) => number.to_string(),
        FieldValue::Bool(flag) => flag.to_string(),
        FieldValue::Ip(address) => address.to_string(),
        FieldValue::List(values) => format!("({})", values.join(",")),
        FieldValue::Bytes(bytes) => printable(bytes),
    }
}

/// Bytes as text, with non-printable bytes shown as `.` (as Falco's buffer output does).
fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&byte| {
            if byte.is_ascii_graphic() || byte == b' ' {
                char::from(byte)
            } else {
                '.'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_end_where_the_catalogued_field_ends() {
        let output = Output::parse("a %proc.name. b=%proc.aname[2] c=%evt.arg.flags %(fd.name)x 100%%")
            .expect("parses");
        let names: Vec<(String, Option<String>)> = output
            .fields()
            .map(|field| (field.name.clone(), field.arg.clone()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("proc.name".to_string(), None),
                ("proc.aname".to_string(), Some("2".to_string())),
                ("evt.arg".to_string(), Some("flags".to_string())),
                ("fd.name".to_string(), None),
            ]
        );
    }

    #[test]
    fn unknown_fields_are_errors() {
        let error = Output::parse("x %proc.nmae y").unwrap_err();
        assert_eq!(error.field, "proc.nmae");
        assert_eq!(error.offset, 2);
    }

    #[test]
    fn lists_and_bytes_format_like_falco() {
        let list = FieldValue::List(vec!["a".into(), "b".into()]);
        assert_eq!(format_value(&list), "(a,b)");
        assert_eq!(format_value(&FieldValue::Bytes(b"ab\x00".into())), "ab.");
    }
}
