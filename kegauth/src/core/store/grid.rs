//! Grids: one page of an entity's rows, sorted, filtered and counted (what
//! the admin pages and the app's CRUD views list), and the query that asks
//! for it.

use super::*;
use serde::Serialize;

/// Rows per grid page.
pub const PER_PAGE: u32 = 25;

/// Longest filter text kept (longer input is cut, never sent to the database).
pub(crate) const MAX_FILTER_CHARS: usize = 200;

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
    /// The values of the source's own filters
    /// ([`CrudSource::filters`](crate::crud::CrudSource::filters)), by key;
    /// only non-empty ones.
    pub params: std::collections::BTreeMap<String, String>,
}

/// A `LIKE ... ESCAPE '!'` pattern for "contains `text`, case-insensitive"
/// (compare with `LOWER(column)`), `%` and `_` taken literally.
pub(super) fn contains_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '!' | '%' | '_') {
            p.push('!');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// One page of a table's rows: the text filter over `filter_cols`, the
/// order (a `sort` column, NULLs last, then the id) and the page's limits.
/// Every identifier comes from the caller's schema; the filter is bound.
pub(super) struct Paging<'a> {
    pub table: &'a str,
    pub filter_cols: &'a [&'a str],
    pub sort: Option<&'a str>,
    pub id: &'a str,
    pub query: &'a GridQuery,
}

impl Paging<'_> {
    fn push_where<DB: Backend>(&self, sql: &mut Sql<DB>) {
        if self.query.filter.is_empty() || self.filter_cols.is_empty() {
            return;
        }
        let pattern = contains_pattern(&self.query.filter);
        sql.push(" WHERE (");
        for (i, col) in self.filter_cols.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("LOWER(").qualified("t", col).push(") LIKE ");
            sql.bind_text(&pattern).push(" ESCAPE '!'");
        }
        sql.push(")");
    }

    /// The number of rows the filter keeps.
    pub async fn count<DB: Backend>(&self, conn: &mut DB::Connection) -> Result<u64> {
        let mut count = Sql::<DB>::new("SELECT COUNT(*) FROM ");
        count.ident(self.table).push(" t");
        self.push_where(&mut count);
        let rows = DB::fetch(conn, &count.text, count.args, &[OutCol { kind: Kind::Int }]).await?;
        Ok(match rows.first().and_then(|r| r.first()) {
            Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
            _ => 0,
        })
    }

    /// After `SELECT .. FROM <table> t`: the filter, the order and the page.
    pub fn push_page<DB: Backend>(&self, sql: &mut Sql<DB>) {
        self.push_where(sql);
        sql.push(" ORDER BY ");
        if let Some(col) = self.sort {
            let dir = if self.query.descending {
                " DESC"
            } else {
                " ASC"
            };
            sql.push("CASE WHEN ")
                .qualified("t", col)
                .push(" IS NULL THEN 1 ELSE 0 END, ");
            sql.qualified("t", col).push(dir).push(", ");
        }
        sql.qualified("t", self.id);
        sql.push(&format!(
            " LIMIT {} OFFSET {}",
            self.query.per_page.max(1),
            self.query.offset()
        ));
    }
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
            params: Default::default(),
        }
    }

    /// The rows to skip.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page)
    }
}

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// One page of `T`'s rows for a grid, and how many rows match the
    /// filter: sorted by the column named `query.sort` (unknown names sort by
    /// id), NULLs last, ties by id; filtered to rows where one of
    /// `filter_columns` contains `query.filter` (case-insensitive, `%` and `_`
    /// taken literally).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> kegauth::Result<()> {
    /// use kegauth::{crud::GridQuery, entity::Group, Store};
    /// # #[derive(kegauth::AuthEntity)] #[auth(user)]
    /// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
    /// let store: Store<sqlx::Sqlite, User> = Store::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
    /// store.create_schema().await?;
    /// for name in ["alpha", "beta", "al_pha"] {
    ///     store.insert_group(&mut Group { id: 0, name: name.into() }).await?;
    /// }
    /// let query = GridQuery { sort: Some("name".into()), descending: true, filter: "AL".into(), page: 1, per_page: 25, ..Default::default() };
    /// let (rows, total) = store.grid::<Group>(&query, &["name"]).await?;
    /// assert_eq!(total, 2);
    /// assert_eq!(rows.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["alpha", "al_pha"]);
    /// # Ok(()) }
    /// ```
    pub async fn grid<T: AuthEntity>(
        &self,
        query: &GridQuery,
        filter_columns: &[&str],
    ) -> Result<(Vec<T>, u64)> {
        let schema = schema_of::<T>();
        let filter_cols: Vec<&str> = schema
            .columns
            .iter()
            .filter(|c| filter_columns.contains(&c.name) && c.kind == Kind::Text)
            .map(|c| c.name)
            .collect();
        let paging = Paging {
            table: schema.table,
            filter_cols: &filter_cols,
            sort: query
                .sort
                .as_deref()
                .and_then(|s| schema.columns.iter().find(|c| c.name == s))
                .map(|c| c.name),
            id: schema.id_column(),
            query,
        };
        let mut conn = self.conn().await?;
        let total = paging.count::<DB>(&mut conn).await?;
        let mut sql = self.select::<T>();
        paging.push_page(&mut sql);
        let rows = Self::fetch_all(&mut conn, sql).await?;
        Ok((rows, total))
    }

    /// Insert a group or bundle (by kind); a taken name is [`Error::Conflict`].
    pub(crate) async fn insert_entity<T: AuthEntity>(&self, entity: &mut T) -> Result<()> {
        self.insert_row(&mut *self.conn().await?, entity).await
    }

    /// Save a group's or bundle's columns.
    pub(crate) async fn update_entity<T: AuthEntity>(&self, entity: &T) -> Result<()> {
        self.update_row(&mut *self.conn().await?, entity).await
    }

    /// A row of `T` by id.
    pub(crate) async fn entity<T: AuthEntity>(&self, id: i64) -> Result<Option<T>> {
        self.by_id(&mut *self.conn().await?, id).await
    }

    /// Delete a group or bundle (by kind), rotating the affected users' keys.
    pub(crate) async fn delete_entity(&self, kind: EntityKind, id: i64) -> Result<()> {
        self.delete_with_links(kind, Self::subject(kind, id), id)
            .await
            .map(drop)
    }
}
