//! The one Markdown table writer every table of the report goes through.

use std::fmt::Write as _;

/// How a column's cells line up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// Text: left.
    Left,
    /// Figures: right.
    Right,
}

/// A Markdown table: a header, an alignment per column, rows of cells.
#[derive(Debug)]
pub struct Table {
    header: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these columns.
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = (S, Align)>) -> Self {
        let (header, align) = columns.into_iter().map(|(h, a)| (h.into(), a)).unzip();
        Table { header, align, rows: Vec::new() }
    }

    /// Adds a row; missing cells are left empty, extra ones dropped.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        let mut row: Vec<String> = cells.into_iter().map(Into::into).take(self.header.len()).collect();
        row.resize(self.header.len(), String::new());
        self.rows.push(row);
        self
    }

    /// The Markdown text, ending in a newline.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let line = |s: &mut String, cells: &[String]| {
            s.push('|');
            for c in cells {
                // A cell is one line, and a bar inside it would split it.
                let _ = write!(s, " {} |", c.replace('|', "\\|").replace('\n', " "));
            }
            s.push('\n');
        };
        line(&mut s, &self.header);
        s.push('|');
        for a in &self.align {
            s += match a {
                Align::Left => "---|",
                Align::Right => "---:|",
            };
        }
        s.push('\n');
        for row in &self.rows {
            line(&mut s, row);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_header_alignment_and_rows() {
        let mut t = Table::new([("backend", Align::Left), ("ns", Align::Right)]);
        t.row(["std", "12"]).row(["a|b"]);
        assert_eq!(t.render(), "| backend | ns |\n|---|---:|\n| std | 12 |\n| a\\|b |  |\n");
    }
}
