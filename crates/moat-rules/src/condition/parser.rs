//! A recursive-descent parser for Falco's filter syntax.
//!
//! Grammar (`or` binds loosest, then `and`, then `not`):
//!
//! ```text
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | primary
//! primary := "(" or ")" | field "exists" | field op operand | identifier
//! field   := name ("[" arg "]")? | transformer "(" field ")"
//! operand := quoted | bare | "(" items ")" | "val(" field ")"
//! ```

use super::SyntaxError;
use crate::ast::{CmpOp, Expr, FieldExpr, Operand, Transformer};
use crate::fields;

/// Parses a whole condition.
pub(super) fn parse(text: &str) -> Result<Expr, SyntaxError> {
    let mut parser = Parser { text, pos: 0 };
    let expr = parser.or_expr()?;
    parser.skip_space();
    if parser.pos < text.len() {
        return Err(parser.error("expected `and`, `or` or the end of the condition"));
    }
    Ok(expr)
}

/// Binary operators, longest first so that `<=` is not read as `<`.
const SYMBOL_OPS: &[(&str, CmpOp)] = &[
    ("==", CmpOp::Eq),
    ("!=", CmpOp::Ne),
    ("<=", CmpOp::Le),
    (">=", CmpOp::Ge),
    ("=", CmpOp::Eq),
    ("<", CmpOp::Lt),
    (">", CmpOp::Gt),
];

const WORD_OPS: &[(&str, CmpOp)] = &[
    ("contains", CmpOp::Contains),
    ("icontains", CmpOp::IContains),
    ("bcontains", CmpOp::BContains),
    ("startswith", CmpOp::StartsWith),
    ("bstartswith", CmpOp::BStartsWith),
    ("endswith", CmpOp::EndsWith),
    ("glob", CmpOp::Glob),
    ("iglob", CmpOp::IGlob),
    ("pmatch", CmpOp::PMatch),
    ("in", CmpOp::In),
    ("intersects", CmpOp::Intersects),
    ("regex", CmpOp::Regex),
];

const TRANSFORMERS: &[(&str, Transformer)] = &[
    ("tolower", Transformer::Tolower),
    ("toupper", Transformer::Toupper),
    ("b64", Transformer::B64),
    ("basename", Transformer::Basename),
    ("len", Transformer::Len),
];

/// What follows a field: an operator or `exists`.
enum Test {
    Exists,
    Op(CmpOp),
}

struct Parser<'t> {
    text: &'t str,
    pos: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'
}

/// Characters that end a bare (unquoted) value.
fn ends_bare(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | ',' | '=' | '"' | '\'')
}

impl<'t> Parser<'t> {
    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            offset: self.pos,
            message: message.into(),
        }
    }

    fn rest(&self) -> &'t str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    /// The word (identifier characters) at the current position, not consumed.
    fn peek_word(&self) -> &'t str {
        let rest = self.rest();
        let end = rest.find(|c| !is_word_char(c)).unwrap_or(rest.len());
        &rest[..end]
    }

    /// Consumes `keyword` when it is the next whole word.
    fn eat_keyword(&mut self, keyword: &str) -> bool {
        self.skip_space();
        if self.peek_word() == keyword {
            self.pos += keyword.len();
            return true;
        }
        false
    }

    fn eat_char(&mut self, c: char) -> bool {
        self.skip_space();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            return true;
        }
        false
    }

    fn expect_char(&mut self, c: char, what: &str) -> Result<(), SyntaxError> {
        if self.eat_char(c) {
            return Ok(());
        }
        Err(self.error(format!("expected `{c}` {what}")))
    }

    fn or_expr(&mut self) -> Result<Expr, SyntaxError> {
        let mut items = vec![self.and_expr()?];
        while self.eat_keyword("or") {
            items.push(self.and_expr()?);
        }
        Ok(flatten(items, Expr::Or))
    }

    fn and_expr(&mut self) -> Result<Expr, SyntaxError> {
        let mut items = vec![self.not_expr()?];
        while self.eat_keyword("and") {
            items.push(self.not_expr()?);
        }
        Ok(flatten(items, Expr::And))
    }

    fn not_expr(&mut self) -> Result<Expr, SyntaxError> {
        if self.eat_keyword("not") {
            return Ok(Expr::Not(Box::new(self.not_expr()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        self.skip_space();
        if self.eat_char('(') {
            let inner = self.or_expr()?;
            self.expect_char(')', "to close the parenthesis")?;
            return Ok(inner);
        }
        let start = self.pos;
        let word = self.peek_word();
        if word.is_empty() {
            return Err(self.error("expected a field, a macro name, `not` or `(`"));
        }
        if matches!(word, "and" | "or") {
            return Err(self.error(format!("expected a condition before `{word}`")));
        }
        let is_call = self.text[start + word.len()..].starts_with('(');
        if !word.contains('.') && !is_call && !self.followed_by_test(start + word.len()) {
            self.pos += word.len();
            return Ok(Expr::Macro(word.to_string()));
        }
        let field = self.field()?;
        self.comparison(field)
    }

    /// True when an operator or `exists` follows the word that ends at `end`.
    fn followed_by_test(&self, end: usize) -> bool {
        let mut probe = Parser {
            text: self.text,
            pos: end,
        };
        probe.skip_space();
        probe.peek() == Some('[') || probe.test().is_some()
    }

    /// Reads an operator or `exists` at the current position.
    fn test(&mut self) -> Option<Test> {
        self.skip_space();
        let rest = self.rest();
        if let Some((sym, op)) = SYMBOL_OPS.iter().find(|(sym, _)| rest.starts_with(sym)) {
            self.pos += sym.len();
            return Some(Test::Op(*op));
        }
        let word = self.peek_word();
        if word == "exists" {
            self.pos += word.len();
            return Some(Test::Exists);
        }
        let (_, op) = WORD_OPS.iter().find(|(name, _)| *name == word)?;
        self.pos += word.len();
        Some(Test::Op(*op))
    }

    fn comparison(&mut self, field: FieldExpr) -> Result<Expr, SyntaxError> {
        match self.test() {
            Some(Test::Exists) => Ok(Expr::Exists(field)),
            Some(Test::Op(op)) => {
                let value = self.operand(op)?;
                Ok(Expr::Compare { field, op, value })
            }
            None => Err(self.error(format!(
                "expected an operator (`=`, `in`, `contains`, `exists`, …) after `{}`",
                field.name
            ))),
        }
    }

    /// A field, possibly wrapped in transformers: `tolower(basename(fd.name))`.
    fn field(&mut self) -> Result<FieldExpr, SyntaxError> {
        self.skip_space();
        let word = self.peek_word();
        if let Some((_, transformer)) = TRANSFORMERS.iter().find(|(name, _)| *name == word) {
            if self.text[self.pos + word.len()..].starts_with('(') {
                self.pos += word.len() + 1;
                let mut inner = self.field()?;
                self.expect_char(')', "to close the transformer")?;
                inner.transformers.push(*transformer);
                return Ok(inner);
            }
        }
        if word.is_empty() {
            return Err(self.error("expected a field name"));
        }
        self.pos += word.len();
        let arg = self.field_arg()?;
        Ok(split_name(word, arg))
    }

    /// An optional `[arg]` directly after a field name.
    fn field_arg(&mut self) -> Result<Option<String>, SyntaxError> {
        if self.peek() != Some('[') {
            return Ok(None);
        }
        let open = self.pos;
        let Some(close) = self.rest().find(']') else {
            return Err(self.error("expected `]` to close the field argument"));
        };
        self.pos += close + 1;
        Ok(Some(self.text[open + 1..open + close].to_string()))
    }

    fn operand(&mut self, op: CmpOp) -> Result<Operand, SyntaxError> {
        self.skip_space();
        if self.rest().starts_with("val(") {
            self.pos += 4;
            let field = self.field()?;
            self.expect_char(')', "to close `val(`")?;
            return Ok(Operand::Field(field));
        }
        if self.peek() == Some('(') {
            if !matches!(op, CmpOp::In | CmpOp::Intersects | CmpOp::PMatch) {
                return Err(self.error(
                    "expected a value (a list is only allowed after `in`, `intersects` or `pmatch`)",
                ));
            }
            return self.list().map(Operand::List);
        }
        self.value().map(Operand::Value)
    }

    /// `(a, "b c", d)`; may be empty.
    fn list(&mut self) -> Result<Vec<String>, SyntaxError> {
        self.expect_char('(', "to open the list")?;
        let mut items = Vec::new();
        if self.eat_char(')') {
            return Ok(items);
        }
        loop {
            items.push(self.value()?);
            if self.eat_char(')') {
                return Ok(items);
            }
            self.expect_char(',', "or `)` in the list")?;
        }
    }

    /// A quoted string or a bare word.
    fn value(&mut self) -> Result<String, SyntaxError> {
        self.skip_space();
        match self.peek() {
            Some(quote @ ('"' | '\'')) => self.quoted(quote),
            _ => {
                let rest = self.rest();
                let end = rest.find(ends_bare).unwrap_or(rest.len());
                if end == 0 {
                    return Err(self.error("expected a value"));
                }
                self.pos += end;
                Ok(rest[..end].to_string())
            }
        }
    }

    /// A string in `quote`s. `\\`, `\"`, `\'`, `\n`, `\t`, `\r` are unescaped; any other
    /// backslash is kept so that regular expressions such as `"\d+"` survive.
    fn quoted(&mut self, quote: char) -> Result<String, SyntaxError> {
        let start = self.pos;
        let mut out = String::new();
        let mut chars = self.rest().char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            if c == quote {
                self.pos += i + 1;
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next().map(|(_, e)| e) {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(e @ ('\\' | '"' | '\'')) => out.push(e),
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => break,
            }
        }
        Err(SyntaxError {
            offset: start,
            message: format!("expected a closing `{quote}` for the string that starts here"),
        })
    }
}

/// Splits a field name as written into name and argument: `evt.arg.flags` is `evt.arg`
/// with `flags`; names the catalogue does not know are kept whole (compiling reports them).
fn split_name(word: &str, bracket_arg: Option<String>) -> FieldExpr {
    let whole = match &bracket_arg {
        Some(arg) => format!("{word}[{arg}]"),
        None => word.to_string(),
    };
    fields::split_field(&whole).unwrap_or(FieldExpr {
        name: word.to_string(),
        arg: bracket_arg,
        transformers: Vec::new(),
    })
}

fn flatten(mut items: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        return items.remove(0);
    }
    make(items)
}
