//! The grid: its query (sort, filter, page), rows and CSV export.

use serde::Serialize;

/// Rows per grid page.
pub const PER_PAGE: u32 = 25;

/// Longest filter text kept (longer input is cut, never sent to the database).
const MAX_FILTER_CHARS: usize = 200;

/// The most rows one CSV export holds.
pub(crate) const MAX_EXPORT_ROWS: u32 = 100_000;

/// A grid column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GridColumn {
    /// The key used in `?sort=` (for kegauth's entities, the column name).
    pub key: String,
    /// The heading.
    pub label: String,
    /// Whether the heading sorts the grid.
    pub sortable: bool,
}

impl GridColumn {
    /// A sortable column.
    ///
    /// ```
    /// let c = kegauth::crud::GridColumn::new("email", "Email");
    /// assert!(c.sortable);
    /// ```
    pub fn new(key: &str, label: &str) -> Self {
        GridColumn {
            key: key.into(),
            label: label.into(),
            sortable: true,
        }
    }
}

/// What the grid shows: sort column and direction, filter text, page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GridQuery {
    /// The column key to sort by (one of the source's sortable columns), if any.
    pub sort: Option<String>,
    /// Descending order.
    pub descending: bool,
    /// Text every shown row contains in one of its text columns (case-insensitive); empty: all.
    pub filter: String,
    /// The page, from 1.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
}

impl GridQuery {
    /// Read `?sort=<key>` (or `-<key>` for descending), `?filter=` and
    /// `?page=`. A sort key the columns do not offer, or a page that is not a
    /// positive number, is ignored (never an error).
    ///
    /// ```
    /// use kegauth::crud::{GridColumn, GridQuery};
    /// let cols = [GridColumn::new("email", "Email")];
    /// let q = GridQuery::from_params(&cols, Some("-email"), Some(" ann "), Some("3"));
    /// assert_eq!((q.sort.as_deref(), q.descending, q.filter.as_str(), q.page), (Some("email"), true, "ann", 3));
    /// let q = GridQuery::from_params(&cols, Some("password"), None, Some("-1"));
    /// assert_eq!((q.sort, q.page), (None, 1));
    /// ```
    pub fn from_params(
        columns: &[GridColumn],
        sort: Option<&str>,
        filter: Option<&str>,
        page: Option<&str>,
    ) -> Self {
        let (key, descending) = match sort {
            Some(s) => match s.strip_prefix('-') {
                Some(k) => (k, true),
                None => (s, false),
            },
            None => ("", false),
        };
        let sort = columns
            .iter()
            .find(|c| c.sortable && c.key == key)
            .map(|c| c.key.clone());
        GridQuery {
            descending: descending && sort.is_some(),
            sort,
            filter: filter
                .unwrap_or_default()
                .trim()
                .chars()
                .take(MAX_FILTER_CHARS)
                .collect(),
            page: page
                .and_then(|p| p.trim().parse::<u32>().ok())
                .filter(|p| *p > 0)
                .unwrap_or(1),
            per_page: PER_PAGE,
        }
    }

    /// The rows to skip.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page)
    }
}

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
pub fn csv_export(columns: &[GridColumn], rows: &[GridRow]) -> crate::Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| crate::Error::Invalid(format!("CSV export: {e}"));
    out.write_record(columns.iter().map(|c| defused(&c.label).into_owned()))
        .map_err(err)?;
    for row in rows {
        out.write_record(row.cells.iter().map(|c| defused(c).into_owned()))
            .map_err(err)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| crate::Error::Invalid(format!("CSV export: {e}")))?;
    String::from_utf8(bytes).map_err(|e| crate::Error::Invalid(format!("CSV export: {e}")))
}
