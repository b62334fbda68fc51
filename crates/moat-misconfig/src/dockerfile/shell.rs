//! A small POSIX shell reader for `RUN` commands: splits a script into simple commands on
//! `&&`, `||`, `;`, `|`, `&` and newlines, respecting quotes, escapes, `$(…)`, backticks and
//! process substitution, and drops redirections and in-script heredoc bodies. Words keep
//! `$VAR` references as written (the shell expands them at build time).

/// What joins a command to the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Joiner {
    /// `&&`
    And,
    /// `||`
    Or,
    /// `|` or `|&`
    Pipe,
    /// `;`, `&` or a newline, or the end of the script.
    Sequence,
}

/// One simple command: its words (quotes removed) and what follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SimpleCommand {
    pub words: Vec<String>,
    pub joiner: Joiner,
}

/// Words that open or close compound commands and carry no command themselves.
const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}",
];

impl SimpleCommand {
    /// The words from the command name on: leading `NAME=value` assignments and shell
    /// keywords (`then`, `do`, `!`) skipped.
    pub(crate) fn command_words(&self) -> &[String] {
        let start = self
            .words
            .iter()
            .position(|w| !is_assignment(w) && !RESERVED.contains(&w.as_str()))
            .unwrap_or(self.words.len());
        self.words.get(start..).unwrap_or(&[])
    }

    /// The command's name without its directory (`apt-get` for `/usr/bin/apt-get`).
    pub(crate) fn name(&self) -> Option<&str> {
        self.command_words().first().map(|w| base_name(w))
    }
}

/// `NAME=value`.
pub(crate) fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// The last path component.
pub(crate) fn base_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Splits a script into simple commands.
pub(crate) fn parse_script(script: &str) -> Vec<SimpleCommand> {
    let mut lexer = Lexer {
        chars: script.chars().collect(),
        pos: 0,
        commands: Vec::new(),
        words: Vec::new(),
        word: String::new(),
        in_word: false,
        skip_next_word: false,
        pending_heredocs: Vec::new(),
    };
    lexer.run();
    lexer.commands
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    commands: Vec<SimpleCommand>,
    words: Vec<String>,
    word: String,
    in_word: bool,
    /// The next word is a redirection target.
    skip_next_word: bool,
    /// Delimiters of `<<WORD` heredocs whose bodies start after the current line.
    pending_heredocs: Vec<(String, bool)>,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            self.step(c);
        }
        self.end_command(Joiner::Sequence);
    }

    fn step(&mut self, c: char) {
        match c {
            '\n' => {
                self.pos += 1;
                self.end_command(Joiner::Sequence);
                self.skip_heredoc_bodies();
            }
            ' ' | '\t' | '\r' => {
                self.pos += 1;
                self.end_word();
            }
            '#' if !self.in_word => self.skip_comment(),
            '\'' => self.single_quoted(),
            '"' => self.double_quoted(),
            '\\' => self.escaped(),
            '`' => self.copy_backticks(),
            '$' if self.peek(1) == Some('(') => self.copy_parenthesised(),
            '<' | '>' if self.peek(1) == Some('(') => self.copy_parenthesised(),
            '&' | '|' | ';' => self.operator(c),
            '<' | '>' => self.redirection(),
            '(' | ')' => {
                self.pos += 1;
                self.end_word();
            }
            _ => {
                self.pos += 1;
                self.push(c);
            }
        }
    }

    fn push(&mut self, c: char) {
        self.word.push(c);
        self.in_word = true;
    }

    fn end_word(&mut self) {
        if !self.in_word {
            return;
        }
        let word = std::mem::take(&mut self.word);
        self.in_word = false;
        if self.skip_next_word {
            self.skip_next_word = false;
            return;
        }
        self.words.push(word);
    }

    fn end_command(&mut self, joiner: Joiner) {
        self.end_word();
        self.skip_next_word = false;
        if self.words.is_empty() {
            if let Some(last) = self.commands.last_mut() {
                if joiner != Joiner::Sequence && last.joiner == Joiner::Sequence {
                    last.joiner = joiner;
                }
            }
            return;
        }
        let words = std::mem::take(&mut self.words);
        self.commands.push(SimpleCommand { words, joiner });
    }

    fn skip_comment(&mut self) {
        while let Some(c) = self.peek(0) {
            if c == '\n' {
                return;
            }
            self.pos += 1;
        }
    }

    fn single_quoted(&mut self) {
        self.pos += 1;
        self.in_word = true;
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            if c == '\'' {
                return;
            }
            self.word.push(c);
        }
    }

    fn double_quoted(&mut self) {
        self.pos += 1;
        self.in_word = true;
        while let Some(c) = self.peek(0) {
            match c {
                '"' => {
                    self.pos += 1;
                    return;
                }
                '\\' => {
                    self.pos += 1;
                    match self.peek(0) {
                        Some('\n') => self.pos += 1,
                        Some(next @ ('"' | '\\' | '$' | '`')) => {
                            self.pos += 1;
                            self.word.push(next);
                        }
                        _ => self.word.push('\\'),
                    }
                }
                '$' if self.peek(1) == Some('(') => self.copy_parenthesised(),
                '`' => self.copy_backticks(),
                _ => {
                    self.pos += 1;
                    self.word.push(c);
                }
            }
        }
    }

    fn escaped(&mut self) {
        self.pos += 1;
        match self.peek(0) {
            Some('\n') => self.pos += 1,
            Some(next) => {
                self.pos += 1;
                self.push(next);
            }
            None => {}
        }
    }

    /// Copies `` `…` `` into the current word as written.
    fn copy_backticks(&mut self) {
        self.pos += 1;
        self.push('`');
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            self.word.push(c);
            if c == '`' {
                return;
            }
        }
    }

    /// Copies `$(…)`, `<(…)` or `>(…)` into the current word as written, nesting included.
    fn copy_parenthesised(&mut self) {
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            self.push(c);
            match (quote, c) {
                (Some(q), _) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '(') => depth += 1,
                (None, ')') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    fn operator(&mut self, c: char) {
        let next = self.peek(1);
        if c == '&' && next == Some('>') {
            self.redirection();
            return;
        }
        let (joiner, width) = match (c, next) {
            ('&', Some('&')) => (Joiner::And, 2),
            ('|', Some('|')) => (Joiner::Or, 2),
            ('|', Some('&')) => (Joiner::Pipe, 2),
            ('|', _) => (Joiner::Pipe, 1),
            (';', Some(';')) => (Joiner::Sequence, 2),
            _ => (Joiner::Sequence, 1),
        };
        self.pos += width;
        self.end_command(joiner);
    }

    /// `>`, `>>`, `2>&1`, `<`, `<<WORD`, `<<<word`, `&>file`: drops the operator and its target.
    fn redirection(&mut self) {
        let fd_only = self.in_word && self.word.chars().all(|c| c.is_ascii_digit());
        if fd_only {
            self.word.clear();
            self.in_word = false;
        } else {
            self.end_word();
        }
        let mut op = String::new();
        while let Some(c) = self.peek(0) {
            if !matches!(c, '<' | '>' | '&' | '|' | '-') || op.len() >= 3 {
                break;
            }
            op.push(c);
            self.pos += 1;
        }
        if op.ends_with('&') {
            while self.peek(0).is_some_and(|c| c.is_ascii_digit() || c == '-') {
                self.pos += 1;
            }
            if self.peek(0).is_some_and(|c| c.is_whitespace()) || self.peek(0).is_none() {
                return;
            }
        }
        if op == "<<" || op == "<<-" {
            self.read_heredoc_delimiter(op == "<<-");
            return;
        }
        self.skip_next_word = true;
    }

    fn read_heredoc_delimiter(&mut self, strip_tabs: bool) {
        while self.peek(0).is_some_and(|c| c == ' ' || c == '\t') {
            self.pos += 1;
        }
        let mut delimiter = String::new();
        while let Some(c) = self.peek(0) {
            if c.is_whitespace() || matches!(c, ';' | '&' | '|' | '<' | '>' | '(' | ')') {
                break;
            }
            self.pos += 1;
            if !matches!(c, '"' | '\'' | '\\') {
                delimiter.push(c);
            }
        }
        if !delimiter.is_empty() {
            self.pending_heredocs.push((delimiter, strip_tabs));
        }
    }

    /// After a newline: skips the bodies of the heredocs the previous line opened.
    fn skip_heredoc_bodies(&mut self) {
        for (delimiter, strip_tabs) in std::mem::take(&mut self.pending_heredocs) {
            loop {
                let line = self.take_line();
                let Some(line) = line else {
                    return;
                };
                let line = if strip_tabs {
                    line.trim_start_matches('\t').to_string()
                } else {
                    line
                };
                if line == delimiter {
                    break;
                }
            }
        }
    }

    fn take_line(&mut self) -> Option<String> {
        if self.pos >= self.chars.len() {
            return None;
        }
        let mut line = String::new();
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            if c == '\n' {
                break;
            }
            line.push(c);
        }
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(script: &str) -> Vec<(Vec<String>, Joiner)> {
        parse_script(script)
            .into_iter()
            .map(|c| (c.words, c.joiner))
            .collect()
    }

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn operators_split_commands() {
        assert_eq!(
            shape("a 'b && c' && d || e; f | g\nh &"),
            vec![
                (words(&["a", "b && c"]), Joiner::And),
                (words(&["d"]), Joiner::Or),
                (words(&["e"]), Joiner::Sequence),
                (words(&["f"]), Joiner::Pipe),
                (words(&["g"]), Joiner::Sequence),
                (words(&["h"]), Joiner::Sequence),
            ]
        );
    }

    #[test]
    fn redirections_and_substitutions() {
        assert_eq!(
            shape("x > out 2>&1 <in && echo \"$(a | b)\" | sh"),
            vec![
                (words(&["x"]), Joiner::And),
                (words(&["echo", "$(a | b)"]), Joiner::Pipe),
                (words(&["sh"]), Joiner::Sequence),
            ]
        );
    }

    #[test]
    fn heredoc_bodies_are_skipped() {
        assert_eq!(
            shape("cat <<EOF > f\napt-get install x\nEOF\nls # note\n"),
            vec![
                (words(&["cat"]), Joiner::Sequence),
                (words(&["ls"]), Joiner::Sequence)
            ]
        );
    }
}
