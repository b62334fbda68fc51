//! Conditions in Falco's filter syntax: [`parse`] text into an [`Expr`](crate::ast::Expr),
//! [`compile`] a resolved expression (no macros left) against the [`fields`](crate::fields)
//! catalogue, then [`Condition::matches`] events.
//!
//! Semantics, following libsinsp:
//! - `or` binds loosest, then `and`, then `not`.
//! - A field with no value for the event makes every comparison false (so `not x = y` is
//!   true); `exists` is true exactly when the field has a value. An empty list value counts
//!   as no value.
//! - `in` and `intersects` on a [`FieldKind::List`](crate::fields::FieldKind::List) field:
//!   `in` holds when every element is in the set, `intersects` when at least one is. Any
//!   other comparison on a list value (such as `proc.aname` without an index, which lists
//!   every ancestor) holds when at least one element satisfies it.
//! - `pmatch` is a path-prefix match, `glob`/`iglob` are shell globs where `*` also matches
//!   `/`, `regex` must match the whole value, `bcontains`/`bstartswith` take hex bytes.
//! - IP fields compare with an address or a CIDR network (`fd.snet in ("10.0.0.0/8")`).
//! - `evt.type` is read from [`Event::event_type`](crate::event::Event::event_type).

mod compile;
mod eval;
mod evttype;
mod parser;

pub use compile::Condition;
pub use eval::Scratch;
pub(crate) use eval::Source;

use crate::ast::Expr;

/// A condition that is not valid filter syntax.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (at byte {offset})")]
pub struct SyntaxError {
    /// Byte offset in the condition text where the problem is.
    pub offset: usize,
    /// What was expected.
    pub message: String,
}

/// A well-formed condition that cannot be evaluated: unknown field, wrong argument,
/// operator that does not fit the field, bad value or pattern, unresolved macro.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// What is wrong, naming the field, operator or value.
    pub message: String,
}

/// Parses a condition written in Falco's filter syntax.
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    parser::parse(text)
}

/// Compiles a condition whose macros and lists have been resolved.
pub fn compile(expr: &Expr) -> Result<Condition, CompileError> {
    compile::compile(expr)
}
