//! The rows of the app's own tables (`#[derive(Crud)]` records): what the
//! CRUD pages over them ask of the store, in parameterised SQL on every
//! backend. Identifiers come from the derive's schema only; sort keys and
//! filter text from a request are matched against it or bound as values.

use super::grid::{GridQuery, Paging};
use super::*;
use crate::core::records::{BoxFuture, RecordRows, RecordSchema, RecordStore};

/// The output columns of a record's row: its id, then its columns.
fn out_cols(schema: &RecordSchema) -> Vec<OutCol> {
    std::iter::once(OutCol { kind: Kind::Int })
        .chain(schema.columns.iter().map(|c| OutCol { kind: c.kind }))
        .collect()
}

/// `SELECT <id>, <columns> FROM <table> t`
fn select<DB: Backend>(schema: &RecordSchema) -> Sql<DB> {
    let mut sql = Sql::<DB>::new("SELECT ");
    sql.qualified("t", schema.id);
    for col in &schema.columns {
        sql.push(", ").qualified("t", col.name);
    }
    sql.push(" FROM ").ident(schema.table).push(" t");
    sql
}

/// A fetched row as its id and values.
fn split_row(schema: &RecordSchema, mut row: Vec<Value>) -> Result<(i64, Vec<Value>)> {
    if row.is_empty() {
        return Err(Error::Decode {
            table: schema.table,
            column: schema.id,
            message: "no id in the row".into(),
        });
    }
    let values = row.split_off(1);
    match row.pop() {
        Some(Value::Int(id)) => Ok((id, values)),
        other => Err(Error::Decode {
            table: schema.table,
            column: schema.id,
            message: format!("the id is not an integer: {other:?}"),
        }),
    }
}

/// Why a record's row could not be written: a unique key taken is a
/// conflict, a missing referenced row or a value the column refuses is
/// invalid input, not a server error.
fn write_error(schema: &RecordSchema, e: sqlx::Error) -> Error {
    if Error::is_unique_violation(&e) {
        Error::Conflict(format!(
            "a {} with these values",
            schema.name.to_lowercase()
        ))
    } else if Error::is_foreign_key_violation(&e) {
        Error::Invalid(format!(
            "this {} refers to a record that does not exist",
            schema.name.to_lowercase()
        ))
    } else {
        Error::Database(e)
    }
}

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// Create the table of a `#[derive(Crud)]` record unless it exists
    /// ([`ddl::record_table`](crate::ddl::record_table)): for apps that let
    /// kegauth make it (the demo does); apps with migrations make their own.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> kegauth::Result<()> {
    /// # #[derive(kegauth::AuthEntity)] #[auth(user)]
    /// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
    /// #[derive(kegauth::Crud, Default)]
    /// #[crud(table = "widgets")]
    /// struct Widget { id: i64, #[crud(list, label, form)] name: String }
    ///
    /// let store: kegauth::Store<sqlx::Sqlite, User> =
    ///     kegauth::Store::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
    /// store.create_record_table::<Widget>().await?;
    /// store.create_record_table::<Widget>().await?; // again: nothing to do
    /// # Ok(()) }
    /// ```
    pub async fn create_record_table<R: crate::core::records::Record>(&self) -> Result<()> {
        // Under the launch lock: instances launched together never race on it.
        let mut lock = self.launch_lock().await?;
        for stmt in crate::core::ddl::record_table::<DB>(R::schema()) {
            DB::execute(lock.conn(), &stmt, Vec::new()).await?;
        }
        lock.release().await
    }

    async fn page_of(
        &self,
        schema: &'static RecordSchema,
        query: &GridQuery,
    ) -> Result<(RecordRows, u64)> {
        let filter_cols: Vec<&str> = schema
            .columns
            .iter()
            .filter(|c| c.filter && c.kind == Kind::Text)
            .map(|c| c.name)
            .collect();
        let paging = Paging {
            table: schema.table,
            filter_cols: &filter_cols,
            // A sort key is a `sort` field's name, never the request's text.
            sort: query
                .sort
                .as_deref()
                .and_then(|s| schema.columns.iter().find(|c| c.sort && c.field == s))
                .map(|c| c.name),
            id: schema.id,
            query,
        };
        let mut conn = self.conn().await?;
        let total = paging.count::<DB>(&mut conn).await?;
        let mut sql = select::<DB>(schema);
        paging.push_page(&mut sql);
        let rows = DB::fetch(&mut conn, &sql.text, sql.args, &out_cols(schema)).await?;
        let rows = rows
            .into_iter()
            .map(|row| split_row(schema, row))
            .collect::<Result<_>>()?;
        Ok((rows, total))
    }

    async fn row_of(&self, schema: &'static RecordSchema, id: i64) -> Result<Option<Vec<Value>>> {
        let mut sql = select::<DB>(schema);
        sql.push(" WHERE ")
            .qualified("t", schema.id)
            .push(" = ")
            .bind_int(id);
        let rows = DB::fetch(
            &mut *self.conn().await?,
            &sql.text,
            sql.args,
            &out_cols(schema),
        )
        .await?;
        match rows.into_iter().next() {
            Some(row) => Ok(Some(split_row(schema, row)?.1)),
            None => Ok(None),
        }
    }

    async fn insert_of(&self, schema: &'static RecordSchema, values: Vec<Value>) -> Result<i64> {
        let mut sql = Sql::<DB>::new("INSERT INTO ");
        sql.ident(schema.table).push(" (");
        sql.idents(schema.columns.iter().map(|c| c.name));
        sql.push(") VALUES (");
        for (i, (col, value)) in schema.columns.iter().zip(values).enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(value, col.kind);
        }
        sql.push(")");
        DB::insert(&mut *self.conn().await?, &sql.text, sql.args, schema.id)
            .await
            .map_err(|e| write_error(schema, e))
    }

    async fn update_of(
        &self,
        schema: &'static RecordSchema,
        id: i64,
        values: Vec<Value>,
    ) -> Result<bool> {
        let mut sql = Sql::<DB>::new("UPDATE ");
        sql.ident(schema.table).push(" SET ");
        let mut first = true;
        for (col, value) in schema.columns.iter().zip(values) {
            if col.readonly || !col.form {
                continue;
            }
            if !first {
                sql.push(", ");
            }
            first = false;
            sql.ident(col.name).push(" = ").bind(value, col.kind);
        }
        if first {
            // Nothing the form writes: the row only has to exist.
            return Ok(self.row_of(schema, id).await?.is_some());
        }
        sql.push(" WHERE ")
            .ident(schema.id)
            .push(" = ")
            .bind_int(id);
        let n = DB::execute(&mut *self.conn().await?, &sql.text, sql.args)
            .await
            .map_err(|e| write_error(schema, e))?;
        // MySQL counts rows changed, not matched: an unchanged row is 0.
        Ok(n > 0 || self.row_of(schema, id).await?.is_some())
    }

    async fn delete_of(&self, schema: &'static RecordSchema, id: i64) -> Result<bool> {
        let mut sql = Sql::<DB>::new("DELETE FROM ");
        sql.ident(schema.table)
            .push(" WHERE ")
            .ident(schema.id)
            .push(" = ")
            .bind_int(id);
        let n = DB::execute(&mut *self.conn().await?, &sql.text, sql.args)
            .await
            .map_err(|e| {
                if Error::is_foreign_key_violation(&e) {
                    Error::Referenced(format!("{} {id}", schema.name.to_lowercase()))
                } else {
                    Error::Database(e)
                }
            })?;
        Ok(n > 0)
    }
}

impl<DB: Backend, E: EntitySet> RecordStore for Store<DB, E> {
    fn record_page<'a>(
        &'a self,
        schema: &'static RecordSchema,
        query: &'a GridQuery,
    ) -> BoxFuture<'a, Result<(RecordRows, u64)>> {
        Box::pin(self.page_of(schema, query))
    }

    fn record(
        &self,
        schema: &'static RecordSchema,
        id: i64,
    ) -> BoxFuture<'_, Result<Option<Vec<Value>>>> {
        Box::pin(self.row_of(schema, id))
    }

    fn insert_record(
        &self,
        schema: &'static RecordSchema,
        values: Vec<Value>,
    ) -> BoxFuture<'_, Result<i64>> {
        Box::pin(self.insert_of(schema, values))
    }

    fn update_record(
        &self,
        schema: &'static RecordSchema,
        id: i64,
        values: Vec<Value>,
    ) -> BoxFuture<'_, Result<bool>> {
        Box::pin(self.update_of(schema, id, values))
    }

    fn delete_record(&self, schema: &'static RecordSchema, id: i64) -> BoxFuture<'_, Result<bool>> {
        Box::pin(self.delete_of(schema, id))
    }
}
