//! The syntax tree of a condition, as written (before lists and macros are resolved) and
//! after (when every identifier has been replaced by what it names).

/// A condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Every operand holds.
    And(Vec<Expr>),
    /// At least one operand holds.
    Or(Vec<Expr>),
    /// The operand does not hold.
    Not(Box<Expr>),
    /// A field compared with a value, a list or another field.
    Compare {
        /// The left side.
        field: FieldExpr,
        /// The operator.
        op: CmpOp,
        /// The right side.
        value: Operand,
    },
    /// `field exists`: the field has a value for this event.
    Exists(FieldExpr),
    /// A bare identifier: a macro name until the loader resolves it.
    Macro(String),
    /// A constant, from an empty macro or a resolved always-true/false condition.
    Bool(bool),
}

/// A field with its optional argument and transformers, such as `proc.aname[2]`,
/// `evt.arg.flags`, `evt.arg[0]` or `tolower(proc.name)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldExpr {
    /// The field name (`proc.aname`, `evt.arg`).
    pub name: String,
    /// The argument: `2` in `proc.aname[2]`, `flags` in `evt.arg.flags` or `evt.arg[flags]`.
    pub arg: Option<String>,
    /// Transformers applied innermost first (`tolower(basename(fd.name))` is
    /// `[Basename, Tolower]`).
    pub transformers: Vec<Transformer>,
}

/// A transformer applied to a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transformer {
    /// `tolower(…)`.
    Tolower,
    /// `toupper(…)`.
    Toupper,
    /// `b64(…)`: base64-decoded.
    B64,
    /// `basename(…)`.
    Basename,
    /// `len(…)`: length of a string or list.
    Len,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=` or `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `contains`.
    Contains,
    /// `icontains`.
    IContains,
    /// `bcontains` (hex bytes).
    BContains,
    /// `startswith`.
    StartsWith,
    /// `bstartswith` (hex bytes).
    BStartsWith,
    /// `endswith`.
    EndsWith,
    /// `glob`.
    Glob,
    /// `iglob`.
    IGlob,
    /// `pmatch`: path prefix match against a list.
    PMatch,
    /// `in`.
    In,
    /// `intersects`.
    Intersects,
    /// `regex`.
    Regex,
}

/// The right side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A single value (quoted or bare word).
    Value(String),
    /// A parenthesised list; an item may name a list until the loader expands it.
    List(Vec<String>),
    /// Another field, written `val(field)`.
    Field(FieldExpr),
}
