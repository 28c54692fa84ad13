//! Fuzzes the filter parser: it must never panic, and whatever it accepts
//! must print to a canonical form that parses back to the same tree.
//!
//! The canonical form may be longer than the input (it spaces operators
//! and list items), so near the length limit it can be refused for length
//! alone; that is the only way it may fail to parse back.
//!
//! `scripts/fuzz filter` (see README, "Fuzzing").

#![no_main]

use libfuzzer_sys::fuzz_target;
use oneroster::filter::{self, MAX_FILTER_BYTES};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(expr) = filter::parse(text) {
        let printed = expr.to_string();
        if printed.len() > MAX_FILTER_BYTES {
            return;
        }
        let again = filter::parse(&printed).expect("the canonical form parses");
        assert_eq!(again, expr, "round trip changed {text:?} (printed {printed:?})");
    }
});
