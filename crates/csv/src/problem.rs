//! What is wrong with a package, said precisely enough to fix it: the file,
//! the line, the column and why. Validation never stops at the first
//! problem, so an operator fixes a whole export in one round trip; the list
//! is capped so a systematically broken file cannot flood memory or a
//! terminal, while the total still counts every problem found.

use std::fmt;

use serde::Serialize;

/// How many problems are kept by default; the rest are only counted.
pub const DEFAULT_MAX_PROBLEMS: usize = 100;

/// One thing wrong with the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file name inside the package (`users.csv`), or `(zip)`/`(package)`.
    pub file: String,
    /// 1-based physical line where the record starts; the header is line 1.
    pub line: Option<u64>,
    /// The CSV column (or manifest property) at fault.
    pub column: Option<String>,
    /// A stable label for the kind of problem, e.g. `row.invalid_enum`
    /// (the labels the csv-cases and the conformance tooling use).
    pub rule: &'static str,
    /// What is wrong, for a person.
    pub reason: String,
}

impl Problem {
    pub fn new(file: impl Into<String>, rule: &'static str, reason: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: None,
            column: None,
            rule,
            reason: reason.into(),
        }
    }

    pub fn at(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    pub fn column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }
}

/// `file:line:column: reason`, leaving out the parts that do not apply.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ":{column}")?;
        }
        write!(f, ": {} [{}]", self.reason, self.rule)
    }
}

/// A capped, counted list of problems.
#[derive(Debug, Clone, Default)]
pub struct Problems {
    kept: Vec<Problem>,
    total: usize,
    cap: usize,
}

impl Problems {
    pub fn with_cap(cap: usize) -> Self {
        Self {
            kept: Vec::new(),
            total: 0,
            cap,
        }
    }

    pub fn push(&mut self, problem: Problem) {
        self.total += 1;
        if self.kept.len() < self.cap {
            self.kept.push(problem);
        }
    }

    /// Adds another list (e.g. from a worker thread), keeping the cap.
    pub fn merge(&mut self, other: Problems) {
        self.total += other.total - other.kept.len();
        for p in other.kept {
            self.push(p);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub fn total(&self) -> usize {
        self.total
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// The kept problems, in file and line order.
    pub fn into_sorted(mut self) -> Vec<Problem> {
        self.kept.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        self.kept
    }
}
