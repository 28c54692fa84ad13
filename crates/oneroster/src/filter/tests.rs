//! Error, limit and property tests for the filter language as a whole.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use super::*;

fn err(input: &str) -> FilterError {
    match parse(input) {
        Ok(expr) => panic!("{input:?} should be rejected, parsed as {expr:?}"),
        Err(e) => e,
    }
}

/// Asserts that `input` fails at `position` with a message containing `needle`.
fn assert_err(input: &str, position: usize, needle: &str) {
    let e = err(input);
    assert_eq!(e.position, position, "{input:?}: {e}");
    assert!(e.message.contains(needle), "{input:?}: {e}");
}

#[test]
fn empty_filter() {
    assert_err("", 0, "empty filter");
    assert_err(" \t\n", 0, "empty filter");
}

#[test]
fn missing_field() {
    assert_err("='x'", 0, "expected a field name, found '='");
    assert_err("a='1' AND", 9, "expected a field name, found end of input");
    assert_err("a='1' OR 'x'", 9, "expected a field name, found '''");
    assert_err("é='x'", 0, "expected a field name, found 'é'");
    assert_err("a.='x'", 2, "expected a field name after '.'");
}

#[test]
fn bad_operator() {
    assert_err("a=='x'", 1, "unknown operator '=='");
    assert_err("a =< 'x'", 2, "unknown operator '=<'");
    assert_err("a!'x'", 1, "unknown operator '!'");
    assert_err("a 'x'", 2, "expected an operator");
    assert_err("status", 6, "after 'status', found end of input");
}

#[test]
fn bad_value() {
    assert_err("a=x", 2, "expected a quoted value after '=', found 'x'");
    assert_err("a>=", 3, "expected a quoted value after '>=', found end of input");
    assert_err("a='x", 2, "unterminated quoted value starting");
    assert_err("a='1' AND b='it''s", 12, "unterminated quoted value starting");
    assert_err(r#"a="x'"#, 2, "unterminated quoted value starting");
    assert_eq!(
        err("a='x").to_string(),
        "unterminated quoted value starting at position 2"
    );
}

#[test]
fn missing_connective() {
    assert_err("a='1' b='2'", 6, "expected AND or OR, found 'b'");
    assert_err("a='1' ANDb='2'", 6, "expected AND or OR, found 'ANDb'");
    assert_err("a='1' é", 6, "expected AND or OR, found 'é'");
    assert_err("(a='1' b='2')", 7, "expected AND, OR or ')'");
}

#[test]
fn parentheses() {
    assert_err("(a='1'", 0, "unbalanced parenthesis");
    assert_err("((a='1') AND b='2'", 0, "unbalanced parenthesis");
    assert_err("a='1')", 5, "unexpected ')'");
    assert_err("()", 1, "unexpected ')'");
    assert_err("a='1' AND )", 10, "unexpected ')'");
}

#[test]
fn empty_list_items() {
    assert_err("a@'x,,y'", 5, "empty item in '@' list");
    assert_err("a@''", 3, "empty item in '@' list");
    assert_err("a@' , x'", 3, "empty item in '@' list");
    assert_err("a@'x, '", 5, "empty item in '@' list");
}

fn eq_chain(count: usize) -> String {
    vec!["a='1'"; count].join(" AND ")
}

#[test]
fn length_limit() {
    let at_limit = format!("a='{}'", "x".repeat(MAX_FILTER_BYTES - 4));
    assert_eq!(at_limit.len(), MAX_FILTER_BYTES);
    assert!(parse(&at_limit).is_ok());
    let over = format!("a='{}'", "x".repeat(MAX_FILTER_BYTES - 3));
    assert_err(&over, MAX_FILTER_BYTES, "filter longer than 4096 bytes");
}

#[test]
fn length_limit_is_checked_first_and_reports_a_char_boundary() {
    let over = format!("(a='{}", "é".repeat(MAX_FILTER_BYTES / 2));
    let e = err(&over);
    assert!(e.message.contains("longer than"), "{e}");
    assert!(over.is_char_boundary(e.position));
    assert!(e.position <= MAX_FILTER_BYTES);
}

#[test]
fn predicate_limit() {
    assert_eq!(
        parse(&eq_chain(MAX_PREDICATES)).map(|e| e.predicates().len()),
        Ok(MAX_PREDICATES)
    );
    let over = eq_chain(MAX_PREDICATES + 1);
    let position = over.rfind('a').expect("a predicate");
    assert_err(&over, position, "more than 100 predicates");
}

#[test]
fn depth_limit() {
    let nested = |depth: usize| format!("{}a='1'{}", "(".repeat(depth), ")".repeat(depth));
    assert!(parse(&nested(MAX_DEPTH)).is_ok());
    assert_err(&nested(MAX_DEPTH + 1), MAX_DEPTH, "parentheses nested deeper than 16");
    let siblings = format!("{} AND {}", nested(MAX_DEPTH), nested(MAX_DEPTH));
    assert!(parse(&siblings).is_ok(), "depth is nesting, not a running count");
}

// ---- property tests ----

fn field() -> impl Strategy<Value = FieldPath> {
    vec("[A-Za-z_][A-Za-z0-9_]{0,8}", 1..4).prop_map(FieldPath::new)
}

/// An `@` item that survives printing: no commas, no surrounding whitespace.
fn list_item() -> impl Strategy<Value = String> {
    r"[^,\s]([^,]{0,8}[^,\s])?"
}

fn predicate() -> impl Strategy<Value = Predicate> {
    let op = select(Op::ALL.to_vec());
    (field(), op, "(?s).{0,12}", vec(list_item(), 1..4)).prop_map(|(field, op, one, list)| {
        let value = if op == Op::In {
            FilterValue::List(list)
        } else {
            FilterValue::One(one)
        };
        Predicate {
            field,
            op,
            value,
            position: 0,
        }
    })
}

/// Builds an And/Or node the way the parser does: same-kind children spliced.
fn group(is_and: bool, children: Vec<FilterExpr>) -> FilterExpr {
    let mut flat = Vec::new();
    for child in children {
        match child {
            FilterExpr::And(inner) if is_and => flat.extend(inner),
            FilterExpr::Or(inner) if !is_and => flat.extend(inner),
            other => flat.push(other),
        }
    }
    if is_and {
        FilterExpr::And(flat)
    } else {
        FilterExpr::Or(flat)
    }
}

/// Trees obeying the parser's invariants. At most 3^4 = 81 predicates and
/// four levels of nesting, so within the count and depth limits.
fn expr() -> impl Strategy<Value = FilterExpr> {
    let leaf = predicate().prop_map(FilterExpr::Predicate);
    leaf.prop_recursive(4, 48, 3, |inner| {
        (any::<bool>(), vec(inner, 2..4)).prop_map(|(is_and, children)| group(is_and, children))
    })
    .prop_filter("within the length limit", |e| e.to_string().len() <= MAX_FILTER_BYTES)
}

/// A non-canonical but valid way of writing a tree.
#[derive(Debug, Clone)]
struct Spelling {
    ws: String,
    lowercase: bool,
    double_quotes: bool,
    wrap: bool,
}

fn spelling() -> impl Strategy<Value = Spelling> {
    ("[ \t\n]{0,2}", any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(ws, lowercase, double_quotes, wrap)| {
        Spelling {
            ws,
            lowercase,
            double_quotes,
            wrap,
        }
    })
}

fn spell(expr: &FilterExpr, s: &Spelling) -> String {
    let text = match expr {
        FilterExpr::Predicate(p) => spell_predicate(p, s),
        FilterExpr::And(children) => spell_joined(children, "AND", s),
        FilterExpr::Or(children) => spell_joined(children, "OR", s),
    };
    if s.wrap {
        format!("({ws}{text}{ws})", ws = s.ws)
    } else {
        text
    }
}

fn spell_predicate(p: &Predicate, s: &Spelling) -> String {
    let raw = match &p.value {
        FilterValue::One(v) => v.clone(),
        FilterValue::List(items) => items.join(&format!("{},{}", s.ws, s.ws)),
    };
    let q = if s.double_quotes { '"' } else { '\'' };
    let escaped = raw.replace(q, &format!("{q}{q}"));
    format!("{}{ws}{}{ws}{q}{escaped}{q}", p.field, p.op.symbol(), ws = s.ws)
}

fn spell_joined(children: &[FilterExpr], keyword: &str, s: &Spelling) -> String {
    let keyword = if s.lowercase {
        keyword.to_lowercase()
    } else {
        keyword.to_owned()
    };
    let after = if s.ws.is_empty() { " " } else { &s.ws };
    let sep = format!("{}{keyword}{after}", s.ws);
    let parts: Vec<String> = children
        .iter()
        .map(|c| match c {
            FilterExpr::Or(_) if keyword.eq_ignore_ascii_case("AND") => {
                format!("({})", spell(c, s))
            }
            _ => spell(c, s),
        })
        .collect();
    parts.join(&sep)
}

fn pieces(alternatives: &'static str) -> impl Strategy<Value = &'static str> {
    select(alternatives.split('|').collect::<Vec<_>>())
}

/// Strings near the grammar, so that a fair share of them parse: operands
/// (mostly whole predicates, some fragments) joined by connectives (mostly
/// valid, some stray characters).
fn token_soup() -> impl Strategy<Value = String> {
    let operand = prop_oneof![
        4 => pieces("a='1'|b.c@'x, y'|d != \"q\"|e~'O''B'|f<=''|(a='1' OR b='2')|((g>'0'))|n='ü€'"),
        1 => pieces("(a='1'|a|=|'v'|é|@''|h@'x,,y'|)|'|\"|a='é"),
    ];
    let join = prop_oneof![
        4 => pieces(" AND | and |)OR(| OR |\tAND\n"),
        1 => pieces("|AND|ANDb| (|) |,|'|é"),
    ];
    (operand.clone(), vec((join, operand), 0..10)).prop_map(|(first, rest)| {
        rest.into_iter()
            .fold(first.to_owned(), |acc, (j, o)| format!("{acc}{j}{o}"))
    })
}

/// What must hold for any input: no panic, errors point inside the input on
/// a char boundary, and anything accepted survives a canonical round trip.
fn check_any(input: &str) -> Result<(), TestCaseError> {
    match parse(input) {
        Ok(expr) => prop_assert_eq!(parse(&expr.to_string()), Ok(expr)),
        Err(e) => {
            prop_assert!(e.position <= input.len(), "{e}");
            prop_assert!(input.is_char_boundary(e.position), "{e}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn canonical_form_round_trips(expr in expr()) {
        let printed = expr.to_string();
        prop_assert_eq!(parse(&printed), Ok(expr), "{}", printed);
    }

    #[test]
    fn lenient_spellings_parse_to_the_same_tree(expr in expr(), s in spelling()) {
        let spelled = spell(&expr, &s);
        prop_assume!(spelled.len() <= MAX_FILTER_BYTES);
        prop_assert_eq!(parse(&spelled), Ok(expr), "{:?}", spelled);
    }

    #[test]
    fn arbitrary_strings_never_panic(input in any::<String>()) {
        check_any(&input)?;
    }

    #[test]
    fn alphabet_strings_never_panic(input in r#"[()'"=!<>~@ ANDORandor.ab,é]{0,60}"#) {
        check_any(&input)?;
    }

    #[test]
    fn token_soup_never_panics_and_round_trips(input in token_soup()) {
        check_any(&input)?;
    }
}
