//! The grid: its query (sort, filter, page), rows and CSV export.

use serde::Serialize;

pub use crate::core::store::grid::{GridColumn, GridQuery, PER_PAGE};

/// The most rows one CSV export holds.
pub(crate) const MAX_EXPORT_ROWS: u32 = 100_000;

/// An action offered on one row, run by `POST <base>/<id>/<name>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowAction {
    /// The name in the URL (one of [`CrudSource::row_actions`](super::CrudSource::row_actions)).
    pub name: String,
    /// The button text.
    pub label: String,
}

/// One grid row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GridRow {
    /// The record's id (for its edit and delete links).
    pub id: i64,
    /// One text per column.
    pub cells: Vec<String>,
    /// Row actions shown on this row.
    pub actions: Vec<RowAction>,
}

impl GridRow {
    /// A row with no row actions.
    pub fn new(id: i64, cells: Vec<String>) -> Self {
        GridRow {
            id,
            cells,
            actions: Vec::new(),
        }
    }
}

/// One page of the grid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GridPage {
    /// The rows.
    pub rows: Vec<GridRow>,
    /// How many rows match the filter, on all pages.
    pub total: u64,
}

/// A cell as a spreadsheet will not run it: text starting with `=`, `+`,
/// `-`, `@`, tab or carriage return gets a leading `'` (OWASP CSV injection).
fn defused(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The grid as CSV: a heading row, then one row per record.
///
/// ```
/// use kegauth::crud::{csv_export, GridColumn, GridRow};
/// let csv = csv_export(
///     &[GridColumn::new("name", "Name")],
///     &[GridRow::new(1, vec!["a, b".into()]), GridRow::new(2, vec!["=1+1".into()])],
/// ).unwrap();
/// assert_eq!(csv, "Name\n\"a, b\"\n'=1+1\n");
/// ```
pub fn csv_export(columns: &[GridColumn], rows: &[GridRow]) -> crate::core::error::Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| crate::core::error::Error::Invalid(format!("CSV export: {e}"));
    out.write_record(columns.iter().map(|c| defused(&c.label).into_owned()))
        .map_err(err)?;
    for row in rows {
        out.write_record(row.cells.iter().map(|c| defused(c).into_owned()))
            .map_err(err)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| crate::core::error::Error::Invalid(format!("CSV export: {e}")))?;
    String::from_utf8(bytes)
        .map_err(|e| crate::core::error::Error::Invalid(format!("CSV export: {e}")))
}
