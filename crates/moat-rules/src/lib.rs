//! Moat's runtime rule language, compatible with Falco's rule files.
//!
//! A rule file is a YAML list of `list`, `macro` and `rule` items (plus
//! `required_engine_version`). Rules have a condition written in Falco's filter syntax over
//! event fields (`proc.name`, `fd.name`, `evt.type`, …), a priority, tags and an output
//! template. [`Ruleset`] loads files, resolves lists and macros, applies `append` and
//! `override`, folds exceptions into conditions, checks every field against the
//! [`fields`] catalogue and indexes the rules by the event types they can match. Any
//! [`Event`] — a live kernel event or a recorded one — can then be matched against it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ast;
pub mod condition;
pub mod event;
pub mod fields;
pub mod load;
pub mod output;
pub mod ruleset;

pub use ast::{CmpOp, Expr, FieldExpr, Operand, Transformer};
pub use condition::{Condition, Scratch};
pub use event::{Event, FieldValue};
pub use output::Output;
pub use ruleset::{LoadErrors, Priority, Rule, RuleError, Ruleset, RulesetBuilder, SkippedRule};
