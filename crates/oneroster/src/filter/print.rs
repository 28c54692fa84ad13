//! The canonical printed form of a filter.
//!
//! One spelling per tree: predicates as `field op 'value'` with no spaces,
//! values single-quoted with `''` escapes, connectives in upper case with one
//! space either side, and parentheses only where precedence needs them (an OR
//! inside an AND). Used for logging, `next` links and cache keys, and for
//! round-trip testing of the parser.

use std::fmt;

use super::ast::{FilterExpr, FilterValue, Predicate};

impl fmt::Display for FilterExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterExpr::Predicate(p) => fmt::Display::fmt(p, f),
            FilterExpr::And(children) => write_joined(f, children, " AND ", true),
            FilterExpr::Or(children) => write_joined(f, children, " OR ", false),
        }
    }
}

/// Writes `children` separated by `sep`. Only an OR directly inside an AND
/// (`parenthesise_or`) needs parentheses: an AND inside an OR already binds
/// tighter, and same-operator nesting never occurs in a flattened tree.
fn write_joined(f: &mut fmt::Formatter<'_>, children: &[FilterExpr], sep: &str, parenthesise_or: bool) -> fmt::Result {
    for (i, child) in children.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        match child {
            FilterExpr::Or(_) if parenthesise_or => write!(f, "({child})")?,
            _ => fmt::Display::fmt(child, f)?,
        }
    }
    Ok(())
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.field, self.op.symbol())?;
        match &self.value {
            FilterValue::One(value) => write_quoted(f, value),
            FilterValue::List(items) => write_quoted(f, &items.join(",")),
        }
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    write!(f, "'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::super::ast::{FieldPath, Op};
    use super::*;

    fn pred(field: &str, op: Op, value: FilterValue) -> FilterExpr {
        let field = FieldPath::new(field.split('.').map(String::from).collect());
        FilterExpr::Predicate(Predicate {
            field,
            op,
            value,
            position: 0,
        })
    }

    fn eq(field: &str, value: &str) -> FilterExpr {
        pred(field, Op::Eq, FilterValue::One(value.into()))
    }

    #[test]
    fn predicate_has_no_spaces_and_escapes_quotes() {
        assert_eq!(eq("givenName", "O'Brien").to_string(), "givenName='O''Brien'");
        assert_eq!(eq("email", "").to_string(), "email=''");
    }

    #[test]
    fn every_operator_prints_its_symbol() {
        for op in Op::ALL {
            let value = match op {
                Op::In => FilterValue::List(vec!["x".into()]),
                _ => FilterValue::One("x".into()),
            };
            assert_eq!(pred("a", op, value).to_string(), format!("a{}'x'", op.symbol()));
        }
    }

    #[test]
    fn list_is_joined_with_commas() {
        let list = FilterValue::List(vec!["Ann".into(), "Bob".into()]);
        assert_eq!(pred("givenName", Op::In, list).to_string(), "givenName@'Ann,Bob'");
    }

    #[test]
    fn dotted_field_is_printed_dotted() {
        assert_eq!(eq("roles.org.sourcedId", "x").to_string(), "roles.org.sourcedId='x'");
    }

    #[test]
    fn or_inside_and_is_parenthesised() {
        let expr = FilterExpr::And(vec![FilterExpr::Or(vec![eq("a", "1"), eq("b", "2")]), eq("c", "3")]);
        assert_eq!(expr.to_string(), "(a='1' OR b='2') AND c='3'");
    }

    #[test]
    fn and_inside_or_is_not_parenthesised() {
        let expr = FilterExpr::Or(vec![eq("a", "1"), FilterExpr::And(vec![eq("b", "2"), eq("c", "3")])]);
        assert_eq!(expr.to_string(), "a='1' OR b='2' AND c='3'");
    }
}
