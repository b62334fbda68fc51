//! The event types a condition can match, like Falco's event-type index.
//!
//! Each sub-expression gets two over-approximations: the types for which it may be true
//! and those for which it may be false. `not` swaps them, `and` intersects the "true" sets
//! and unites the "false" sets, `or` the reverse. Comparisons on fields other than
//! `evt.type` may be either, for any type.

use crate::ast::{CmpOp, Expr, Operand};
use std::collections::BTreeSet;

/// A set of event types, possibly infinite (every type but some).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum TypeSet {
    /// Exactly these types.
    Only(BTreeSet<String>),
    /// Every type except these.
    AllBut(BTreeSet<String>),
}

impl TypeSet {
    fn any() -> Self {
        TypeSet::AllBut(BTreeSet::new())
    }

    fn none() -> Self {
        TypeSet::Only(BTreeSet::new())
    }

    fn complement(self) -> Self {
        match self {
            TypeSet::Only(s) => TypeSet::AllBut(s),
            TypeSet::AllBut(s) => TypeSet::Only(s),
        }
    }

    fn union(self, other: Self) -> Self {
        use TypeSet::*;
        match (self, other) {
            (Only(a), Only(b)) => Only(&a | &b),
            (Only(a), AllBut(b)) | (AllBut(b), Only(a)) => AllBut(&b - &a),
            (AllBut(a), AllBut(b)) => AllBut(&a & &b),
        }
    }

    fn intersect(self, other: Self) -> Self {
        use TypeSet::*;
        match (self, other) {
            (Only(a), Only(b)) => Only(&a & &b),
            (Only(a), AllBut(b)) | (AllBut(b), Only(a)) => Only(&a - &b),
            (AllBut(a), AllBut(b)) => AllBut(&a | &b),
        }
    }

    /// The finite set, if it is one.
    pub(super) fn finite(self) -> Option<BTreeSet<String>> {
        match self {
            TypeSet::Only(s) => Some(s),
            TypeSet::AllBut(_) => None,
        }
    }
}

/// (may be true for, may be false for).
pub(super) fn may_match(expr: &Expr) -> (TypeSet, TypeSet) {
    match expr {
        Expr::Bool(true) => (TypeSet::any(), TypeSet::none()),
        Expr::Bool(false) => (TypeSet::none(), TypeSet::any()),
        Expr::Not(inner) => {
            let (t, f) = may_match(inner);
            (f, t)
        }
        Expr::And(items) => fold(items, TypeSet::any(), TypeSet::none(), true),
        Expr::Or(items) => fold(items, TypeSet::none(), TypeSet::any(), false),
        Expr::Compare { field, op, value }
            if field.name == "evt.type" && field.arg.is_none() && field.transformers.is_empty() =>
        {
            compare(*op, value)
        }
        _ => (TypeSet::any(), TypeSet::any()),
    }
}

fn fold(items: &[Expr], t0: TypeSet, f0: TypeSet, is_and: bool) -> (TypeSet, TypeSet) {
    items.iter().map(may_match).fold((t0, f0), |(t, f), (ti, fi)| {
        if is_and {
            (t.intersect(ti), f.union(fi))
        } else {
            (t.union(ti), f.intersect(fi))
        }
    })
}

fn compare(op: CmpOp, value: &Operand) -> (TypeSet, TypeSet) {
    let names: BTreeSet<String> = match value {
        Operand::Value(v) => BTreeSet::from([v.clone()]),
        Operand::List(items) => items.iter().cloned().collect(),
        Operand::Field(_) => return (TypeSet::any(), TypeSet::any()),
    };
    let matching = TypeSet::Only(names);
    match op {
        CmpOp::Eq | CmpOp::In | CmpOp::Intersects => (matching.clone(), matching.complement()),
        CmpOp::Ne => (matching.clone().complement(), matching),
        _ => (TypeSet::any(), TypeSet::any()),
    }
}
