//! The grid: its query (sort, filter, page), rows and CSV export.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Serialize;

pub use crate::core::store::grid::{GridColumn, GridQuery, PER_PAGE};

/// The most rows one CSV export holds.
pub(crate) const MAX_EXPORT_ROWS: u32 = 100_000;

/// A filter of a source's own beside the grid's text filter (`?<key>=`),
/// e.g. the audit page's user and event kind. Its value reaches
/// [`CrudSource::list`](super::CrudSource::list) in [`GridQuery::params`].
///
/// ```
/// use kegauth::crud::GridFilter;
/// let f = GridFilter::choice("colour", "Colour", [("r", "Red"), ("g", "Green")]);
/// assert_eq!(f.options.len(), 2);
/// assert!(GridFilter::text("owner", "Owner").options.is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GridFilter {
    /// The query parameter.
    pub key: String,
    /// The label (a catalog key or text).
    pub label: String,
    /// `(value, label)` choices; empty for a text box.
    pub options: Vec<(String, String)>,
}

impl GridFilter {
    /// A text box.
    pub fn text(key: &str, label: &str) -> Self {
        GridFilter {
            key: key.into(),
            label: label.into(),
            options: Vec::new(),
        }
    }

    /// A choice among `options` (`(value, label)`), or none.
    pub fn choice<'a>(
        key: &str,
        label: &str,
        options: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        GridFilter {
            key: key.into(),
            label: label.into(),
            options: options
                .into_iter()
                .map(|(v, l)| (v.to_string(), l.to_string()))
                .collect(),
        }
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

/// Everything but RFC 3986's unreserved characters is escaped in a query value.
const QUERY_VALUE: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// The list URL for a sort, the query's filters, and a page.
pub(super) fn list_url(
    root: &str,
    sort: Option<(&str, bool)>,
    query: &GridQuery,
    page: u32,
) -> String {
    let mut params = Vec::new();
    if let Some((key, desc)) = sort {
        params.push(format!("sort={}{}", if desc { "-" } else { "" }, enc(key)));
    }
    if !query.filter.is_empty() {
        params.push(format!("filter={}", enc(&query.filter)));
    }
    for (key, value) in &query.params {
        params.push(format!("{}={}", enc(key), enc(value)));
    }
    if page > 1 {
        params.push(format!("page={page}"));
    }
    if params.is_empty() {
        root.to_string()
    } else {
        format!("{root}?{}", params.join("&"))
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

/// The longest text one spreadsheet cell holds (Excel's limit).
#[cfg(feature = "xlsx")]
const MAX_CELL_CHARS: usize = 32_767;

/// The grid as an Excel workbook (keg-auth's `export_to=xlsx`): one sheet, a
/// bold heading row, then one row per record, every cell text and defused
/// like [`csv_export`]'s (a cell longer than Excel's 32,767 characters is cut).
///
/// ```
/// use kegauth::crud::{xlsx_export, GridColumn, GridRow};
/// let xlsx = xlsx_export(&[GridColumn::new("name", "Name")], &[GridRow::new(1, vec!["=1+1".into()])]).unwrap();
/// assert!(xlsx.starts_with(b"PK"), "a zip file");
/// ```
#[cfg(feature = "xlsx")]
pub fn xlsx_export(
    columns: &[GridColumn],
    rows: &[GridRow],
) -> crate::core::error::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| {
        crate::core::error::Error::Invalid(format!("Excel export: {e}"))
    };
    let cut = |text: &str| -> String { defused(text).chars().take(MAX_CELL_CHARS).collect() };
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let bold = Format::new().set_bold();
    for (col, c) in columns.iter().enumerate() {
        let col = u16::try_from(col).map_err(|_| {
            crate::core::error::Error::Invalid("Excel export: too many columns".into())
        })?;
        sheet
            .write_string_with_format(0, col, cut(&c.label), &bold)
            .map_err(err)?;
    }
    for (i, row) in rows.iter().enumerate() {
        let r = u32::try_from(i + 1).map_err(|_| {
            crate::core::error::Error::Invalid("Excel export: too many rows".into())
        })?;
        for (col, cell) in row.cells.iter().enumerate() {
            let col = u16::try_from(col).map_err(|_| {
                crate::core::error::Error::Invalid("Excel export: too many columns".into())
            })?;
            sheet.write_string(r, col, cut(cell)).map_err(err)?;
        }
    }
    book.save_to_buffer().map_err(err)
}

/// The formats a grid exports to (`?export_to=csv` or `xlsx`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExportFormat {
    Csv,
    #[cfg(feature = "xlsx")]
    Xlsx,
}

impl ExportFormat {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(Self::Csv),
            #[cfg(feature = "xlsx")]
            "xlsx" => Some(Self::Xlsx),
            _ => None,
        }
    }
}

/// A grid's export, as a download.
pub(crate) struct ExportFile {
    pub(crate) name: String,
    pub(crate) format: ExportFormat,
    pub(crate) body: Vec<u8>,
}

impl<'r> rocket::response::Responder<'r, 'static> for ExportFile {
    fn respond_to(self, _: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        let (content_type, ext) = match self.format {
            ExportFormat::Csv => (rocket::http::ContentType::CSV, "csv"),
            #[cfg(feature = "xlsx")]
            ExportFormat::Xlsx => (
                rocket::http::ContentType::new(
                    "application",
                    "vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
                "xlsx",
            ),
        };
        rocket::Response::build()
            .header(content_type)
            .raw_header(
                "Content-Disposition",
                format!("attachment; filename=\"{}.{ext}\"", self.name),
            )
            .raw_header("Cache-Control", "no-store")
            .sized_body(self.body.len(), std::io::Cursor::new(self.body))
            .ok()
    }
}
