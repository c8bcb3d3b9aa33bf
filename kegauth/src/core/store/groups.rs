//! Groups and bundles, and the memberships that link users, groups, bundles
//! and permissions (keg-auth's mapping tables).

use super::*;

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// The group with this id.
    pub async fn group(&self, id: i64) -> Result<Option<G<E>>> {
        self.by_id(&mut *self.conn().await?, id).await
    }

    /// The group with this name.
    pub async fn group_by_name(&self, name: &str) -> Result<Option<G<E>>> {
        self.by_text(&mut *self.conn().await?, Role::Name, name, false)
            .await
    }

    /// Every group, by name.
    pub async fn groups(&self) -> Result<Vec<G<E>>> {
        self.list(Role::Name).await
    }

    /// Insert a group; a taken name is [`Error::Conflict`].
    pub async fn insert_group(&self, group: &mut G<E>) -> Result<()> {
        check_name(group.name())?;
        self.insert_row(&mut *self.conn().await?, group).await
    }

    /// Save a group's columns (its name and app columns; not its rights).
    pub async fn update_group(&self, group: &G<E>) -> Result<()> {
        check_name(group.name())?;
        self.update_row(&mut *self.conn().await?, group).await
    }

    /// Delete a group; its members' session keys rotate.
    pub async fn delete_group(&self, id: i64) -> Result<()> {
        self.delete_with_links(EntityKind::Group, Subject::Group(id), id)
            .await
            .map(drop)
    }

    /// The bundle with this id.
    pub async fn bundle(&self, id: i64) -> Result<Option<B<E>>> {
        self.by_id(&mut *self.conn().await?, id).await
    }

    /// The bundle with this name.
    pub async fn bundle_by_name(&self, name: &str) -> Result<Option<B<E>>> {
        self.by_text(&mut *self.conn().await?, Role::Name, name, false)
            .await
    }

    /// Every bundle, by name.
    pub async fn bundles(&self) -> Result<Vec<B<E>>> {
        self.list(Role::Name).await
    }

    /// Insert a bundle; a taken name is [`Error::Conflict`].
    pub async fn insert_bundle(&self, bundle: &mut B<E>) -> Result<()> {
        check_name(bundle.name())?;
        self.insert_row(&mut *self.conn().await?, bundle).await
    }

    /// Save a bundle's columns (its name and app columns; not its rights).
    pub async fn update_bundle(&self, bundle: &B<E>) -> Result<()> {
        check_name(bundle.name())?;
        self.update_row(&mut *self.conn().await?, bundle).await
    }

    /// Delete a bundle; the session keys of users holding it (directly or through a group) rotate.
    pub async fn delete_bundle(&self, id: i64) -> Result<()> {
        self.delete_with_links(EntityKind::Bundle, Subject::Bundle(id), id)
            .await
            .map(drop)
    }

    /// Delete a row of `kind` and every mapping row naming it, rotating the affected users.
    pub(super) async fn delete_with_links(
        &self,
        kind: EntityKind,
        subject: Subject,
        id: i64,
    ) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let (n, affected) = self.delete_linked(&mut tx, kind, subject, id).await?;
        self.rotate_and_commit(tx, &affected, kind, id, "deleted")
            .await?;
        Ok(n)
    }

    /// Delete the row `id` of `kind` and its links on `conn`: the rows
    /// deleted and the users whose rights it changed (their keys not yet
    /// rotated). No row is [`Error::NotFound`].
    pub(super) async fn delete_linked(
        &self,
        conn: &mut DB::Connection,
        kind: EntityKind,
        subject: Subject,
        id: i64,
    ) -> Result<(u64, Vec<i64>)> {
        let affected = self.affected_users(conn, subject).await?;
        for link in Link::ALL {
            let (l, r) = link.kinds();
            if l == kind {
                self.unlink_all(conn, link, true, id).await?;
            } else if r == kind {
                self.unlink_all(conn, link, false, id).await?;
            }
        }
        let n = Self::delete_row(conn, self.table_of(kind), id).await?;
        if n == 0 {
            return Err(Error::NotFound(format!("{kind:?} {id}").to_lowercase()));
        }
        Ok((n, affected))
    }

    // ----- memberships ----------------------------------------------------------------------

    pub(super) async fn unlink_all(
        &self,
        conn: &mut DB::Connection,
        link: Link,
        left_side: bool,
        id: i64,
    ) -> Result<u64> {
        let (l, r) = link.columns();
        let mut sql = Sql::<DB>::new("DELETE FROM ");
        sql.ident(link.table()).push(" WHERE ");
        sql.ident(if left_side { l } else { r })
            .push(" = ")
            .bind_int(id);
        Ok(DB::execute(conn, &sql.text, sql.args).await?)
    }

    async fn require_ids(
        &self,
        conn: &mut DB::Connection,
        kind: EntityKind,
        ids: &[i64],
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let schema = self.table_of(kind);
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident(schema.id_column())
            .push(" FROM ")
            .ident(schema.table);
        sql.push(" WHERE ")
            .ident(schema.id_column())
            .push(" IN ")
            .bind_int_list(ids);
        let found = Self::ids(conn, sql).await?;
        match ids.iter().find(|id| found.binary_search(id).is_err()) {
            Some(missing) => Err(Error::NotFound(
                format!("{kind:?} {missing}").to_lowercase(),
            )),
            None => Ok(()),
        }
    }

    pub(super) fn subject(kind: EntityKind, id: i64) -> Subject {
        match kind {
            EntityKind::Group => Subject::Group(id),
            EntityKind::Bundle => Subject::Bundle(id),
            EntityKind::Permission => Subject::Permission(id),
            _ => Subject::User(id),
        }
    }

    /// The ids on the right side of `link` for `left_id` (e.g. a user's group ids).
    pub async fn linked(&self, link: Link, left_id: i64) -> Result<Vec<i64>> {
        let (l, r) = link.columns();
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident(r)
            .push(" FROM ")
            .ident(link.table())
            .push(" WHERE ")
            .ident(l);
        sql.push(" = ").bind_int(left_id);
        Self::ids(&mut *self.conn().await?, sql).await
    }

    /// The ids on the left side of `link` for `right_id` (e.g. a group's member ids).
    pub async fn linked_to(&self, link: Link, right_id: i64) -> Result<Vec<i64>> {
        let (l, r) = link.columns();
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident(l)
            .push(" FROM ")
            .ident(link.table())
            .push(" WHERE ")
            .ident(r);
        sql.push(" = ").bind_int(right_id);
        Self::ids(&mut *self.conn().await?, sql).await
    }

    /// Replace the right-side ids of `left_id` in `link` (e.g. a group's permissions).
    /// Unknown ids are [`Error::NotFound`]. When the set changes, the affected users'
    /// session keys rotate; returns whether it changed.
    pub async fn set_links(&self, link: Link, left_id: i64, right_ids: &[i64]) -> Result<bool> {
        let mut wanted = right_ids.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let (lk, rk) = link.kinds();
        let (l, r) = link.columns();
        let mut tx = self.begin_write().await?;
        self.require_ids(&mut tx, lk, &[left_id]).await?;
        self.require_ids(&mut tx, rk, &wanted).await?;
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident(r)
            .push(" FROM ")
            .ident(link.table())
            .push(" WHERE ")
            .ident(l);
        sql.push(" = ").bind_int(left_id);
        if Self::ids(&mut tx, sql).await? == wanted {
            return Ok(false);
        }
        self.unlink_all(&mut tx, link, true, left_id).await?;
        if !wanted.is_empty() {
            let mut sql = Sql::<DB>::new("INSERT INTO ");
            sql.ident(link.table())
                .push(" (")
                .ident(l)
                .push(", ")
                .ident(r)
                .push(") VALUES ");
            for (i, id) in wanted.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.push("(")
                    .bind_int(left_id)
                    .push(", ")
                    .bind_int(*id)
                    .push(")");
            }
            DB::execute(&mut tx, &sql.text, sql.args).await?;
        }
        let affected = self
            .affected_users(&mut tx, Self::subject(lk, left_id))
            .await?;
        self.rotate_and_commit(tx, &affected, lk, left_id, link.table())
            .await?;
        Ok(true)
    }

    /// Add one link (e.g. a user to a group); rotates the affected users' keys if it was new.
    pub async fn add_link(&self, link: Link, left_id: i64, right_id: i64) -> Result<bool> {
        let (lk, rk) = link.kinds();
        let (l, r) = link.columns();
        let mut tx = self.begin_write().await?;
        self.require_ids(&mut tx, lk, &[left_id]).await?;
        self.require_ids(&mut tx, rk, &[right_id]).await?;
        let mut sql = Sql::<DB>::new("INSERT INTO ");
        sql.ident(link.table())
            .push(" (")
            .ident(l)
            .push(", ")
            .ident(r)
            .push(") VALUES (");
        sql.bind_int(left_id)
            .push(", ")
            .bind_int(right_id)
            .push(")");
        if DB::insert_new(&mut tx, &sql.text, sql.args, &[l, r]).await? == 0 {
            return Ok(false);
        }
        let affected = self
            .affected_users(&mut tx, Self::subject(lk, left_id))
            .await?;
        self.rotate_and_commit(tx, &affected, lk, left_id, link.table())
            .await?;
        Ok(true)
    }

    /// Remove one link; rotates the affected users' keys if it existed.
    pub async fn remove_link(&self, link: Link, left_id: i64, right_id: i64) -> Result<bool> {
        let (lk, _) = link.kinds();
        let (l, r) = link.columns();
        let mut tx = self.begin_write().await?;
        let affected = self
            .affected_users(&mut tx, Self::subject(lk, left_id))
            .await?;
        let mut sql = Sql::<DB>::new("DELETE FROM ");
        sql.ident(link.table())
            .push(" WHERE ")
            .ident(l)
            .push(" = ")
            .bind_int(left_id);
        sql.push(" AND ").ident(r).push(" = ").bind_int(right_id);
        if DB::execute(&mut tx, &sql.text, sql.args).await? == 0 {
            return Ok(false);
        }
        self.rotate_and_commit(tx, &affected, lk, left_id, link.table())
            .await?;
        Ok(true)
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::Invalid("the name must not be empty".into()));
    }
    if name.chars().count() > 1024 {
        return Err(Error::Invalid(
            "the name is longer than 1024 characters".into(),
        ));
    }
    Ok(())
}
