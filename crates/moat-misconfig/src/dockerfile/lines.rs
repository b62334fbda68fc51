//! The first parsing pass: parser directives, then logical instructions (continuation lines
//! joined, comments dropped) with the bodies of the heredocs they read.

use super::model::{Directive, Heredoc};
use super::words::split_words;

/// One instruction's text before it is interpreted.
#[derive(Debug, Clone)]
pub(crate) struct RawInstruction {
    /// The keyword as written.
    pub keyword: String,
    /// The rest of the logical line, continuations joined.
    pub rest: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub heredocs: Vec<Heredoc>,
}

/// A problem found while splitting the file.
#[derive(Debug, Clone)]
pub(crate) struct LineError {
    pub line: u32,
    pub message: String,
}

/// The directives, escape character, raw instructions and errors of one file.
#[derive(Debug, Default)]
pub(crate) struct Split {
    pub directives: Vec<Directive>,
    pub escape: Option<char>,
    pub instructions: Vec<RawInstruction>,
    pub errors: Vec<LineError>,
}

const KNOWN_DIRECTIVES: &[&str] = &["syntax", "escape", "check"];

/// Splits a Dockerfile's text into directives and raw instructions.
pub(crate) fn split(text: &str) -> Split {
    let lines: Vec<&str> = text.lines().collect();
    let mut split = Split::default();
    read_directives(&lines, &mut split);
    let escape = split.escape.unwrap_or('\\');
    let mut reader = Reader {
        lines: &lines,
        pos: 0,
        escape,
    };
    while let Some(instruction) = reader.next_instruction(&mut split.errors) {
        split.instructions.push(instruction);
    }
    split
}

/// Reads the `# name=value` lines at the very top of the file.
fn read_directives(lines: &[&str], split: &mut Split) {
    for (index, line) in lines.iter().enumerate() {
        let Some((name, value)) = directive(line) else {
            return;
        };
        if split.directives.iter().any(|d| d.name == name) {
            return;
        }
        let number = line_number(index);
        if name == "escape" {
            match value.as_str() {
                "\\" => split.escape = Some('\\'),
                "`" => split.escape = Some('`'),
                _ => split.errors.push(LineError {
                    line: number,
                    message: format!("invalid escape directive {value:?}: must be ` or \\"),
                }),
            }
        }
        split.directives.push(Directive {
            name,
            value,
            line: number,
        });
    }
}

/// A known directive on this line, as (lower-cased name, value).
fn directive(line: &str) -> Option<(String, String)> {
    let comment = line.trim().strip_prefix('#')?;
    let (name, value) = comment.split_once('=')?;
    let name = name.trim().to_ascii_lowercase();
    KNOWN_DIRECTIVES
        .contains(&name.as_str())
        .then(|| (name, value.trim().to_string()))
}

/// 1-based line number of a 0-based index.
pub(crate) fn line_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

fn column_number(offset: usize) -> u32 {
    u32::try_from(offset + 1).unwrap_or(u32::MAX)
}

fn is_blank_or_comment(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.is_empty() || trimmed.starts_with('#')
}

/// The line without a trailing escape character (and the whitespace after it), and whether it
/// had one.
fn strip_continuation(line: &str, escape: char) -> (&str, bool) {
    let trimmed = line.trim_end();
    match trimmed.strip_suffix(escape) {
        Some(content) => (content, true),
        None => (line, false),
    }
}

struct Reader<'a> {
    lines: &'a [&'a str],
    pos: usize,
    escape: char,
}

impl Reader<'_> {
    fn next_instruction(&mut self, errors: &mut Vec<LineError>) -> Option<RawInstruction> {
        while self.lines.get(self.pos).is_some_and(|l| is_blank_or_comment(l)) {
            self.pos += 1;
        }
        let first = *self.lines.get(self.pos)?;
        let start = self.pos;
        let indent = first.len() - first.trim_start().len();
        let logical = self.logical_line(first.trim_start());
        let end = self.pos;
        self.pos += 1;
        let (keyword, rest) = match logical.split_once(char::is_whitespace) {
            Some((keyword, rest)) => (keyword.to_string(), rest.trim().to_string()),
            None => (logical.trim().to_string(), String::new()),
        };
        let mut instruction = RawInstruction {
            keyword,
            rest,
            line: line_number(start),
            column: column_number(indent),
            end_line: line_number(end),
            end_column: column_number(self.lines.get(end).map_or(0, |l| l.len())),
            heredocs: Vec::new(),
        };
        self.read_heredocs(&mut instruction, errors);
        Some(instruction)
    }

    /// Joins continuation lines from the current position; leaves `pos` on the last line used.
    fn logical_line(&mut self, first: &str) -> String {
        let mut logical = String::new();
        let mut current = first;
        loop {
            let (content, continues) = strip_continuation(current, self.escape);
            logical.push_str(content);
            if !continues {
                return logical;
            }
            let mut next = self.pos + 1;
            while self.lines.get(next).is_some_and(|l| is_blank_or_comment(l)) {
                next += 1;
            }
            match self.lines.get(next) {
                Some(line) => {
                    self.pos = next;
                    current = line;
                }
                None => return logical,
            }
        }
    }

    /// Reads the bodies of the heredocs a `RUN`, `COPY` or `ADD` names.
    fn read_heredocs(&mut self, instruction: &mut RawInstruction, errors: &mut Vec<LineError>) {
        let keyword = super::model::Keyword::parse(&instruction.keyword);
        if !keyword.is_some_and(|k| k.takes_heredocs()) || instruction.rest.starts_with('[') {
            return;
        }
        for marker in heredoc_markers(&instruction.rest, self.escape) {
            let heredoc = self.read_body(marker);
            match heredoc {
                Ok(heredoc) => {
                    instruction.end_line = heredoc.end_line;
                    instruction.end_column =
                        column_number(self.lines.get(self.pos.saturating_sub(1)).map_or(0, |l| l.len()));
                    instruction.heredocs.push(heredoc);
                }
                Err(heredoc) => {
                    errors.push(LineError {
                        line: instruction.line,
                        message: format!(
                            "unterminated heredoc <<{}: no line reads {:?}",
                            heredoc.delimiter, heredoc.delimiter
                        ),
                    });
                    instruction.end_line = line_number(self.lines.len().saturating_sub(1));
                    instruction.heredocs.push(heredoc);
                    return;
                }
            }
        }
    }

    /// Reads one heredoc body; `Err` holds what was read when the terminator never came.
    fn read_body(&mut self, marker: Marker) -> Result<Heredoc, Heredoc> {
        let mut heredoc = Heredoc {
            delimiter: marker.delimiter,
            strip_tabs: marker.strip_tabs,
            expand: !marker.quoted,
            content: String::new(),
            start_line: line_number(self.pos),
            end_line: line_number(self.pos),
        };
        while let Some(line) = self.lines.get(self.pos) {
            self.pos += 1;
            let line = if heredoc.strip_tabs {
                line.trim_start_matches('\t')
            } else {
                line
            };
            if line == heredoc.delimiter {
                heredoc.end_line = line_number(self.pos - 1);
                return Ok(heredoc);
            }
            heredoc.content.push_str(line);
            heredoc.content.push('\n');
        }
        Err(heredoc)
    }
}

/// A `<<NAME` marker found in an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    pub delimiter: String,
    pub strip_tabs: bool,
    pub quoted: bool,
}

/// The heredoc markers among an instruction's words (`<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF`),
/// in order.
pub(crate) fn heredoc_markers(rest: &str, escape: char) -> Vec<Marker> {
    split_words(rest, escape)
        .iter()
        .filter_map(|word| marker(word))
        .collect()
}

/// The marker a word is, if it is one.
pub(crate) fn marker(word: &str) -> Option<Marker> {
    let after_fd = word.trim_start_matches(|c: char| c.is_ascii_digit());
    let after = after_fd.strip_prefix("<<")?;
    let (strip_tabs, name) = match after.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, after),
    };
    if name.is_empty() || name.contains('<') {
        return None;
    }
    let quoted = name.contains(['"', '\'']);
    let delimiter: String = name.chars().filter(|c| !matches!(c, '"' | '\'')).collect();
    if delimiter.is_empty()
        || !delimiter
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return None;
    }
    Some(Marker {
        delimiter,
        strip_tabs,
        quoted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_recognised() {
        let found = heredoc_markers("<<EOF cat <<-'X' 2<<\"Y\" <<<here a<<b", '\\');
        let names: Vec<(&str, bool, bool)> = found
            .iter()
            .map(|m| (m.delimiter.as_str(), m.strip_tabs, m.quoted))
            .collect();
        assert_eq!(
            names,
            vec![("EOF", false, false), ("X", true, true), ("Y", false, true)]
        );
    }

    #[test]
    fn continuation_skips_comments_and_blank_lines() {
        let split = split("RUN a \\\n# note\n\n  b\nRUN c\n");
        assert_eq!(split.instructions.len(), 2);
        assert_eq!(split.instructions[0].rest, "a   b");
        assert_eq!(split.instructions[0].end_line, 4);
        assert_eq!(split.instructions[1].line, 5);
    }
}
