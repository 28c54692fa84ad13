//! The typed syntax tree a `filter` parameter parses into.
//!
//! The tree is purely syntactic: field names are not checked against any
//! resource here. That is the query compiler's job, which knows the
//! resource's declaration and can report an unknown field at
//! [`Predicate::position`].

use std::fmt;

/// A parsed `filter` query parameter.
///
/// Invariants kept by the parser (and expected by the printer): `And` and `Or`
/// hold at least two children, an `And` never directly contains an `And` and
/// an `Or` never directly contains an `Or`. Keeping the tree flat makes the
/// printed form canonical: one tree, one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterExpr {
    /// Every child must hold.
    And(Vec<FilterExpr>),
    /// At least one child must hold.
    Or(Vec<FilterExpr>),
    /// A single comparison, the leaf of the tree.
    Predicate(Predicate),
}

impl FilterExpr {
    /// All leaves, left to right, so callers can validate every field named in
    /// the filter without walking the tree themselves.
    pub fn predicates(&self) -> Vec<&Predicate> {
        let mut out = Vec::new();
        self.collect_predicates(&mut out);
        out
    }

    fn collect_predicates<'a>(&'a self, out: &mut Vec<&'a Predicate>) {
        match self {
            FilterExpr::Predicate(p) => out.push(p),
            FilterExpr::And(children) | FilterExpr::Or(children) => {
                children.iter().for_each(|c| c.collect_predicates(out));
            }
        }
    }
}

/// One comparison: `field op value`.
///
/// Equality ignores [`position`](Self::position): two filters that mean the
/// same thing compare equal however they were spaced in the input.
#[derive(Debug, Clone, Eq)]
pub struct Predicate {
    /// The (possibly dotted) field the comparison reads.
    pub field: FieldPath,
    /// The comparison operator.
    pub op: Op,
    /// [`FilterValue::List`] for [`Op::In`], [`FilterValue::One`] otherwise.
    pub value: FilterValue,
    /// Byte offset of the field in the input, so later stages (unknown field,
    /// bad date) can point at the offending predicate.
    pub position: usize,
}

impl PartialEq for Predicate {
    fn eq(&self, other: &Self) -> bool {
        self.field == other.field && self.op == other.op && self.value == other.value
    }
}

/// The segments of a dotted field path, e.g. `roles.org.sourcedId`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath(Vec<String>);

impl FieldPath {
    /// Builds a path from its segments. Not validated: the parser only ever
    /// produces identifiers (`[A-Za-z_][A-Za-z0-9_]*`), and a path built here
    /// from anything else will not survive a print/parse round trip.
    pub fn new(segments: Vec<String>) -> Self {
        FieldPath(segments)
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[String] {
        &self.0
    }

    /// The path joined with dots, as the client wrote it.
    pub fn as_dotted(&self) -> String {
        self.0.join(".")
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_dotted())
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `~`: substring match (OneRoster "contains").
    Contains,
    /// `@`: value is one of a comma-separated list (TimeBack extension).
    In,
}

impl Op {
    /// Every operator, two-character symbols before their one-character
    /// prefixes so a scan in this order is a longest match.
    pub const ALL: [Op; 8] = [Op::Ne, Op::Ge, Op::Le, Op::Eq, Op::Gt, Op::Lt, Op::Contains, Op::In];

    /// The operator as written in a filter.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Contains => "~",
            Op::In => "@",
        }
    }

    /// The operator spelled exactly `symbol`, if any.
    pub(crate) fn from_symbol(symbol: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.symbol() == symbol)
    }
}

/// The right-hand side of a predicate, already unquoted and unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    /// A single value (may be empty: `email=''` is legal).
    One(String),
    /// The trimmed, non-empty items of an `@` list.
    List(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(field: &str, value: &str, position: usize) -> Predicate {
        Predicate {
            field: FieldPath::new(field.split('.').map(String::from).collect()),
            op: Op::Eq,
            value: FilterValue::One(value.into()),
            position,
        }
    }

    #[test]
    fn predicate_equality_ignores_position() {
        assert_eq!(pred("a", "1", 0), pred("a", "1", 42));
        assert_ne!(pred("a", "1", 0), pred("a", "2", 0));
    }

    #[test]
    fn field_path_prints_dotted() {
        let path = FieldPath::new(vec!["roles".into(), "org".into(), "sourcedId".into()]);
        assert_eq!(path.as_dotted(), "roles.org.sourcedId");
        assert_eq!(path.to_string(), "roles.org.sourcedId");
        assert_eq!(path.segments().len(), 3);
    }

    #[test]
    fn symbols_round_trip() {
        for op in Op::ALL {
            assert_eq!(Op::from_symbol(op.symbol()), Some(op));
        }
        assert_eq!(Op::from_symbol("=="), None);
    }

    #[test]
    fn predicates_are_listed_left_to_right() {
        let expr = FilterExpr::Or(vec![
            FilterExpr::And(vec![
                FilterExpr::Predicate(pred("a", "1", 0)),
                FilterExpr::Predicate(pred("b", "2", 0)),
            ]),
            FilterExpr::Predicate(pred("c", "3", 0)),
        ]);
        let fields: Vec<String> = expr.predicates().iter().map(|p| p.field.as_dotted()).collect();
        assert_eq!(fields, ["a", "b", "c"]);
    }
}
