//! Fuzzes the filter parser: it must never panic, and whatever it accepts
//! must print to a canonical form that parses back to the same tree.
//!
//! `cargo fuzz run filter --sanitizer none` (see README, "Fuzzing").

#![no_main]

use libfuzzer_sys::fuzz_target;
use oneroster::filter;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(expr) = filter::parse(text) {
        let printed = expr.to_string();
        let again = filter::parse(&printed).expect("the canonical form parses");
        assert_eq!(again, expr, "round trip changed {text:?} (printed {printed:?})");
    }
});
