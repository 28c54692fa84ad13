//! Aligned text tables for the terminal: one header row, then the rows,
//! each column as wide as its widest cell.

use std::io::Write as _;

use anyhow::Result;

pub fn print<R: AsRef<[String]>>(header: &[String], rows: &[R]) -> Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, text) in widths.iter_mut().zip(row.as_ref()) {
            *width = (*width).max(text.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    for row in std::iter::once(header).chain(rows.iter().map(AsRef::as_ref)) {
        let line: Vec<String> = row.iter().zip(&widths).map(|(t, w)| format!("{t:<w$}")).collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}
