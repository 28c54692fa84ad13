//! Splitting stored JSON text into the entries of an object or the items of
//! an array, borrowed from the text.
//!
//! The text is a record the store holds, written by serde_json after the
//! record was validated, so this only finds boundaries: strings run to
//! their closing quote, nesting is counted, scalars run to the next
//! delimiter. (A byte loop beat `memchr` here: the strings are short.)
//! serde_json's `RawValue` did the same while validating every byte through
//! its generic visitor, and was the largest item of a 1,000-row page's CPU.
//! Anything unexpected (a key holding an escape, a missing delimiter) gives
//! `None`, and the caller parses the record with serde_json instead. A
//! record damaged in a way this still walks (a misspelt literal) is copied
//! as it is, where the full path would answer 500: the store validated it
//! on write, and revalidating every page was the cost this removes.

/// The `(key, value text)` entries of the object `text`, in order.
pub fn object_entries(text: &str) -> Option<Vec<(&str, &str)>> {
    let b = text.as_bytes();
    let mut i = open(b, b'{')?;
    let mut entries = Vec::with_capacity(16);
    if b.get(i) == Some(&b'}') {
        return end(b, i, entries);
    }
    loop {
        let key_end = string_end(b, i)?;
        let key = &text[i + 1..key_end - 1];
        if key.contains('\\') {
            return None;
        }
        i = skip_ws(b, key_end);
        (b.get(i) == Some(&b':')).then_some(())?;
        let start = skip_ws(b, i + 1);
        let stop = value_end(b, start)?;
        entries.push((key, &text[start..stop]));
        i = skip_ws(b, stop);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b'}' => return end(b, i, entries),
            _ => return None,
        }
    }
}

/// The items of the array `text`, in order.
pub fn array_items(text: &str) -> Option<Vec<&str>> {
    let b = text.as_bytes();
    let mut i = open(b, b'[')?;
    let mut items = Vec::new();
    if b.get(i) == Some(&b']') {
        return end(b, i, items);
    }
    loop {
        let stop = value_end(b, i)?;
        items.push(&text[i..stop]);
        i = skip_ws(b, stop);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b']' => return end(b, i, items),
            _ => return None,
        }
    }
}

/// Past `bracket` and any white space, if the text starts with it.
fn open(b: &[u8], bracket: u8) -> Option<usize> {
    let i = skip_ws(b, 0);
    (b.get(i) == Some(&bracket)).then(|| skip_ws(b, i + 1))
}

/// `found` if the closing bracket at `i` ends the text (white space aside).
fn end<T>(b: &[u8], i: usize, found: T) -> Option<T> {
    (skip_ws(b, i + 1) == b.len()).then_some(found)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Just past the string that opens at `i`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    (b.get(i) == Some(&b'"')).then_some(())?;
    let mut j = i + 1;
    loop {
        j += b.get(j..)?.iter().position(|c| matches!(c, b'"' | b'\\'))?;
        if b[j] == b'"' {
            return Some(j + 1);
        }
        j += 2;
    }
}

/// Just past the value that starts at `i`.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
            let len = b[i..]
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(b.len() - i);
            let scalar = &b[i..i + len];
            (!scalar.iter().any(|c| matches!(c, b'"' | b':' | b'{' | b'['))).then_some(i + len)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_items_are_borrowed_as_written() {
        let text = r#" { "a" : [1, {"b":"}\"]"}] , "c":"x\\","d":-1.5e3,"e":null,"f":{}} "#;
        assert_eq!(
            object_entries(text).unwrap(),
            [
                ("a", r#"[1, {"b":"}\"]"}]"#),
                ("c", r#""x\\""#),
                ("d", "-1.5e3"),
                ("e", "null"),
                ("f", "{}")
            ]
        );
        assert_eq!(
            array_items(r#"[ 1 ,"a,b",[2,[3]],{} ]"#).unwrap(),
            ["1", r#""a,b""#, "[2,[3]]", "{}"]
        );
        assert_eq!(object_entries("{}").unwrap(), []);
        let unicode = r#"{"ké":"Zoë \\\"Z\"","n":[true,false,null],"e":"\\"}"#;
        assert_eq!(
            object_entries(unicode).unwrap(),
            [("ké", r#""Zoë \\\"Z\"""#), ("n", "[true,false,null]"), ("e", r#""\\""#)]
        );
        assert_eq!(array_items("[ ]").unwrap(), Vec::<&str>::new());
    }

    #[test]
    fn what_it_cannot_walk_gives_none() {
        for text in [
            r#"{"p\u0077":1}"#,
            r#"{"a":1"#,
            r#"{"a":"1}"#,
            r#"{"a" 1}"#,
            r#"{"a":1,}"#,
            r#"{"a":[1}"#,
            r#"{"a":1} x"#,
            r#"{"a":1"b":2}"#,
            r#"{"a":x}"#,
            "[1,2",
            "[1 2]",
            "",
        ] {
            assert!(object_entries(text).is_none() && array_items(text).is_none(), "{text}");
        }
    }
}
