//! Recursive-descent parser for the `filter` language.
//!
//! The parser works on bytes: every character with meaning in the grammar is
//! ASCII, so the cursor only ever stops on char boundaries and slicing the
//! input is always safe, whatever UTF-8 the client sends inside values.

use super::ast::{FieldPath, FilterExpr, FilterValue, Op, Predicate};

/// Longest accepted `filter` parameter, in bytes (after URL decoding).
pub const MAX_FILTER_BYTES: usize = 4096;
/// Most predicates one filter may hold; bounds the cost of running it.
pub const MAX_PREDICATES: usize = 100;
/// Deepest parenthesis nesting accepted; bounds the parser's recursion.
pub const MAX_DEPTH: usize = 16;

/// Why a filter was rejected, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position}")]
pub struct FilterError {
    /// Byte offset of the problem in the input (always a char boundary).
    pub position: usize,
    /// What is wrong, naming the offending text.
    pub message: String,
}

impl FilterError {
    fn new(position: usize, message: impl Into<String>) -> Self {
        FilterError {
            position,
            message: message.into(),
        }
    }
}

/// Parses a `filter` parameter into a flattened [`FilterExpr`].
///
/// Limits are enforced while parsing so that hostile input costs at most
/// [`MAX_FILTER_BYTES`] of work and [`MAX_DEPTH`] stack frames.
pub fn parse(input: &str) -> Result<FilterExpr, FilterError> {
    if input.len() > MAX_FILTER_BYTES {
        let position = input.floor_char_boundary(MAX_FILTER_BYTES);
        return Err(FilterError::new(
            position,
            format!("filter longer than {MAX_FILTER_BYTES} bytes"),
        ));
    }
    if input.trim_matches(|c: char| c.is_ascii_whitespace()).is_empty() {
        return Err(FilterError::new(0, "empty filter"));
    }
    let mut parser = Parser {
        input,
        pos: 0,
        predicates: 0,
        depth: 0,
    };
    let expr = parser.parse_or()?;
    parser.skip_ws();
    match parser.peek() {
        None => Ok(expr),
        Some(b')') => Err(FilterError::new(parser.pos, "unexpected ')' with no matching '('")),
        Some(_) => Err(parser.expected("AND or OR")),
    }
}

/// The two connectives, which differ only in keyword and tree node.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Connective {
    And,
    Or,
}

impl Connective {
    fn keyword(self) -> &'static str {
        match self {
            Connective::And => "AND",
            Connective::Or => "OR",
        }
    }

    /// Builds the node for `children`, splicing in children that are the same
    /// connective (from parentheses) so the tree stays flat, and returning a
    /// lone child as is.
    fn join(self, children: Vec<FilterExpr>) -> FilterExpr {
        let mut flat = Vec::with_capacity(children.len());
        for child in children {
            match (self, child) {
                (Connective::And, FilterExpr::And(inner)) | (Connective::Or, FilterExpr::Or(inner)) => {
                    flat.extend(inner);
                }
                (_, other) => flat.push(other),
            }
        }
        match <[FilterExpr; 1]>::try_from(flat) {
            Ok([only]) => only,
            Err(flat) if self == Connective::And => FilterExpr::And(flat),
            Err(flat) => FilterExpr::Or(flat),
        }
    }
}

/// A quoted value as found in the input, before unescaping.
struct Quoted<'a> {
    /// Byte offset of the first character inside the quotes.
    start: usize,
    /// The text between the quotes, doubled quotes still doubled.
    raw: &'a str,
    /// The quote character used, `'` or `"`.
    quote: char,
}

impl Quoted<'_> {
    fn unescape(&self, raw: &str) -> String {
        let doubled: String = [self.quote, self.quote].into_iter().collect();
        raw.replace(&doubled, &self.quote.to_string())
    }

    /// Splits an `@` value on commas. Commas are never escaped, so splitting
    /// the raw text finds the same items as splitting the unescaped text, and
    /// keeps exact input offsets for errors.
    fn list(&self) -> Result<Vec<String>, FilterError> {
        let mut offset = self.start;
        let mut items = Vec::new();
        for raw_item in self.raw.split(',') {
            let item = raw_item.trim_matches(|c: char| c.is_ascii_whitespace());
            if item.is_empty() {
                return Err(FilterError::new(offset, "empty item in '@' list"));
            }
            items.push(self.unescape(item));
            offset += raw_item.len() + 1;
        }
        Ok(items)
    }
}

struct Parser<'a> {
    input: &'a str,
    /// Byte offset of the cursor; always on a char boundary.
    pos: usize,
    predicates: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// Advances over bytes matching `pred` and returns the text passed over.
    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        &self.input[start..self.pos]
    }

    /// An error at the cursor saying what was expected and what is there.
    fn expected(&self, what: &str) -> FilterError {
        let rest = self.input.get(self.pos..).unwrap_or("");
        let word_len = rest.bytes().take_while(|&b| is_ident_char(b)).count();
        let found = match rest.chars().next() {
            None => "end of input".to_owned(),
            Some(_) if word_len > 0 => format!("'{}'", &rest[..word_len]),
            Some(c) => format!("'{c}'"),
        };
        FilterError::new(self.pos, format!("expected {what}, found {found}"))
    }

    fn parse_or(&mut self) -> Result<FilterExpr, FilterError> {
        self.parse_connective(Connective::Or)
    }

    /// `or := and (OR and)*` and `and := primary (AND primary)*`: AND binds
    /// tighter because each OR operand is a whole AND chain.
    fn parse_connective(&mut self, connective: Connective) -> Result<FilterExpr, FilterError> {
        let mut children = vec![self.parse_operand(connective)?];
        while self.eat_keyword(connective.keyword()) {
            children.push(self.parse_operand(connective)?);
        }
        Ok(connective.join(children))
    }

    fn parse_operand(&mut self, connective: Connective) -> Result<FilterExpr, FilterError> {
        match connective {
            Connective::Or => self.parse_connective(Connective::And),
            Connective::And => self.parse_primary(),
        }
    }

    /// Consumes `keyword` (any case) if it is the next word. The word is read
    /// to its end, so `ANDx` is not mistaken for `AND` followed by `x`.
    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let before = self.pos;
        self.skip_ws();
        if self.take_while(is_ident_char).eq_ignore_ascii_case(keyword) {
            return true;
        }
        self.pos = before;
        false
    }

    fn parse_primary(&mut self) -> Result<FilterExpr, FilterError> {
        self.skip_ws();
        match self.peek() {
            Some(b'(') => self.parse_group(),
            Some(b')') => Err(FilterError::new(
                self.pos,
                "unexpected ')' where a field name was expected",
            )),
            Some(b) if is_ident_start(b) => self.parse_predicate().map(FilterExpr::Predicate),
            _ => Err(self.expected("a field name")),
        }
    }

    fn parse_group(&mut self) -> Result<FilterExpr, FilterError> {
        let open = self.pos;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::new(
                open,
                format!("parentheses nested deeper than {MAX_DEPTH}"),
            ));
        }
        self.pos += 1;
        let inner = self.parse_or()?;
        self.skip_ws();
        match self.peek() {
            Some(b')') => {
                self.pos += 1;
                self.depth -= 1;
                Ok(inner)
            }
            None => Err(FilterError::new(
                open,
                "unbalanced parenthesis: this '(' is never closed",
            )),
            Some(_) => Err(self.expected("AND, OR or ')'")),
        }
    }

    fn parse_predicate(&mut self) -> Result<Predicate, FilterError> {
        let position = self.pos;
        self.predicates += 1;
        if self.predicates > MAX_PREDICATES {
            return Err(FilterError::new(
                position,
                format!("more than {MAX_PREDICATES} predicates"),
            ));
        }
        let field = self.parse_field()?;
        self.skip_ws();
        let op = self.parse_op(&field)?;
        self.skip_ws();
        let quoted = self.parse_quoted(op)?;
        let value = match op {
            Op::In => FilterValue::List(quoted.list()?),
            _ => FilterValue::One(quoted.unescape(quoted.raw)),
        };
        Ok(Predicate {
            field,
            op,
            value,
            position,
        })
    }

    /// `ident ('.' ident)*`; the caller has checked the first byte.
    fn parse_field(&mut self) -> Result<FieldPath, FilterError> {
        let mut segments = vec![self.take_while(is_ident_char).to_owned()];
        while self.peek() == Some(b'.') {
            self.pos += 1;
            if !self.peek().is_some_and(is_ident_start) {
                return Err(self.expected("a field name after '.'"));
            }
            segments.push(self.take_while(is_ident_char).to_owned());
        }
        Ok(FieldPath::new(segments))
    }

    /// Reads the whole run of operator characters, so `==` or `=<` is
    /// reported as one unknown operator rather than as a bad value.
    fn parse_op(&mut self, field: &FieldPath) -> Result<Op, FilterError> {
        let start = self.pos;
        let symbol = self.take_while(|b| b"=!<>~@".contains(&b));
        if symbol.is_empty() {
            return Err(self.expected(&format!("an operator (=, !=, >, >=, <, <=, ~ or @) after '{field}'")));
        }
        Op::from_symbol(symbol).ok_or_else(|| FilterError::new(start, format!("unknown operator '{symbol}'")))
    }

    /// A `'…'` or `"…"` value; inside it the quote character is escaped by
    /// doubling it.
    fn parse_quoted(&mut self, op: Op) -> Result<Quoted<'a>, FilterError> {
        let open = self.pos;
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(self.expected(&format!("a quoted value after '{}'", op.symbol()))),
        };
        let bytes = self.input.as_bytes();
        let mut i = open + 1;
        loop {
            match bytes.get(i) {
                None => return Err(FilterError::new(open, "unterminated quoted value starting")),
                Some(&b) if b == quote && bytes.get(i + 1) == Some(&quote) => i += 2,
                Some(&b) if b == quote => break,
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        Ok(Quoted {
            start: open + 1,
            raw: &self.input[open + 1..i],
            quote: char::from(quote),
        })
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests;
