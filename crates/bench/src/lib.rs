//! Benchmark support: a deterministic generator of a realistic district.
//!
//! The shape follows what large districts look like: one district, about
//! one school per 5,000 users, two terms, 200 courses, one class per 25
//! users, 92% students (each with demographics and one enrollment), 7%
//! teachers and 1% staff, modification dates spread over two years so that
//! delta queries select a realistic slice.

pub mod datagen;
