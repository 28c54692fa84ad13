//! Unit tests for the parser's accepted forms (errors and limits live in `filter/tests.rs`).

use super::*;

fn path(dotted: &str) -> FieldPath {
    FieldPath::new(dotted.split('.').map(String::from).collect())
}

fn leaf(field: &str, op: Op, value: &str) -> FilterExpr {
    let value = FilterValue::One(value.into());
    FilterExpr::Predicate(Predicate {
        field: path(field),
        op,
        value,
        position: 0,
    })
}

fn eq(field: &str, value: &str) -> FilterExpr {
    leaf(field, Op::Eq, value)
}

fn ok(input: &str) -> FilterExpr {
    parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"))
}

#[test]
fn simple_predicate() {
    assert_eq!(ok("status='active'"), eq("status", "active"));
}

#[test]
fn position_is_the_field_offset() {
    let expr = ok("  a='1' AND  b='2'");
    let positions: Vec<usize> = expr.predicates().iter().map(|p| p.position).collect();
    assert_eq!(positions, [2, 13]);
}

#[test]
fn two_predicates_and() {
    let expected = FilterExpr::And(vec![eq("status", "active"), eq("role", "student")]);
    assert_eq!(ok("status='active' AND role='student'"), expected);
}

#[test]
fn and_binds_tighter_than_or() {
    let expected = FilterExpr::Or(vec![eq("a", "1"), FilterExpr::And(vec![eq("b", "2"), eq("c", "3")])]);
    assert_eq!(ok("a='1' OR b='2' AND c='3'"), expected);
}

#[test]
fn parentheses_override_precedence() {
    let expected = FilterExpr::And(vec![FilterExpr::Or(vec![eq("a", "1"), eq("b", "2")]), eq("c", "3")]);
    assert_eq!(ok("(a='1' OR b='2') AND c='3'"), expected);
}

#[test]
fn same_operator_groups_are_flattened() {
    let expected = FilterExpr::And(vec![eq("a", "1"), eq("b", "2"), eq("c", "3")]);
    assert_eq!(ok("a='1' AND (b='2' AND c='3')"), expected);
    assert_eq!(ok("((a='1') AND b='2') AND c='3'"), expected);
    assert_eq!(ok("((a='1'))"), eq("a", "1"));
}

#[test]
fn doubled_quote_is_an_escape() {
    assert_eq!(ok("givenName='O''Brien'"), eq("givenName", "O'Brien"));
    assert_eq!(ok("a=''''"), eq("a", "'"));
    assert_eq!(ok("email=''"), eq("email", ""));
}

#[test]
fn double_quotes_are_accepted() {
    assert_eq!(ok(r#"givenName="O'Brien""#), eq("givenName", "O'Brien"));
    assert_eq!(ok(r#"a="say ""hi""""#), eq("a", r#"say "hi""#));
}

#[test]
fn every_operator() {
    let cases = [("=", Op::Eq), ("!=", Op::Ne), (">", Op::Gt), (">=", Op::Ge)];
    let more = [("<", Op::Lt), ("<=", Op::Le), ("~", Op::Contains)];
    for (symbol, op) in cases.into_iter().chain(more) {
        assert_eq!(ok(&format!("a{symbol}'x'")), leaf("a", op, "x"), "{symbol}");
        assert_eq!(ok(&format!("a {symbol} 'x'")), leaf("a", op, "x"), "{symbol}");
    }
    let list = FilterValue::List(vec!["x".into()]);
    let expected = FilterExpr::Predicate(Predicate {
        field: path("a"),
        op: Op::In,
        value: list,
        position: 0,
    });
    assert_eq!(ok("a@'x'"), expected);
}

#[test]
fn in_list_items_are_trimmed() {
    let FilterExpr::Predicate(p) = ok("givenName@'Ann, Bob'") else {
        panic!("not a predicate")
    };
    assert_eq!(p.op, Op::In);
    assert_eq!(p.value, FilterValue::List(vec!["Ann".into(), "Bob".into()]));
    let FilterExpr::Predicate(p) = ok("a@' O''Neil ,\tx '") else {
        panic!("not a predicate")
    };
    assert_eq!(p.value, FilterValue::List(vec!["O'Neil".into(), "x".into()]));
}

#[test]
fn dotted_path() {
    let FilterExpr::Predicate(p) = ok("roles.org.sourcedId='x'") else {
        panic!("not a predicate")
    };
    assert_eq!(p.field.segments(), ["roles", "org", "sourcedId"]);
}

#[test]
fn keywords_are_case_insensitive() {
    let expected = FilterExpr::Or(vec![FilterExpr::And(vec![eq("a", "1"), eq("b", "2")]), eq("c", "3")]);
    assert_eq!(ok("a='1' and b='2' or c='3'"), expected);
    assert_eq!(ok("a='1' And b='2' oR c='3'"), expected);
}

#[test]
fn whitespace_is_optional_around_parentheses_and_after_quotes() {
    let expected = FilterExpr::And(vec![eq("a", "1"), FilterExpr::Or(vec![eq("b", "2"), eq("c", "3")])]);
    assert_eq!(ok("a='1'AND(b='2'OR c='3')"), expected);
    assert_eq!(ok("\n\t a = '1'\tAND ( b='2' OR\nc='3' ) \n"), expected);
}

#[test]
fn keywords_may_be_field_names() {
    let expected = FilterExpr::And(vec![eq("and", "1"), eq("OR", "2")]);
    assert_eq!(ok("and='1' AND OR='2'"), expected);
}

#[test]
fn dates_are_plain_strings() {
    assert_eq!(
        ok("dateLastModified>'2026-01-01'"),
        leaf("dateLastModified", Op::Gt, "2026-01-01")
    );
}

#[test]
fn non_ascii_values_are_kept() {
    assert_eq!(ok("familyName='Müller ✓'"), eq("familyName", "Müller ✓"));
}
