//! Permissions: the rows the app's declared permissions are synced to, and
//! effective permissions (direct, through bundles and through groups).

use super::*;

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// Every permission, by token.
    pub async fn permissions(&self) -> Result<Vec<P<E>>> {
        self.list(Role::Token).await
    }

    /// The permission with this token.
    pub async fn permission_by_token(&self, token: &str) -> Result<Option<P<E>>> {
        self.by_text(&mut *self.conn().await?, Role::Token, token, false)
            .await
    }

    /// The ids of these permission tokens; an unknown token is [`Error::NotFound`] naming it.
    pub async fn permission_ids<S: AsRef<str>>(&self, tokens: &[S]) -> Result<Vec<i64>> {
        let all = self.permissions().await?;
        tokens
            .iter()
            .map(|t| {
                let t = t.as_ref();
                all.iter()
                    .find(|p| p.token() == t)
                    .map(|p| p.id())
                    .ok_or_else(|| Error::NotFound(format!("permission `{t}`")))
            })
            .collect()
    }

    /// Make the permissions table match the permissions declared in code:
    /// insert missing ones, update changed descriptions, delete undeclared ones
    /// (rotating the session keys of users who held them).
    ///
    /// Runs under the launch lock (see [`LaunchLock`]), in one transaction
    /// where the backend has transactional DDL: safe from several app
    /// instances at once (the second finds the work done).
    pub async fn sync_permissions(&self, declared: &[PermissionDef]) -> Result<SyncReport> {
        let mut lock = self.launch_lock().await?;
        let (report, removed) = self.sync_permissions_on(lock.conn(), declared).await?;
        lock.release().await?;
        self.permissions_synced(&removed);
        Ok(report)
    }

    /// What follows a sync once it committed: the session cache dropped and
    /// each removal that rotated keys recorded (`removed`: each deleted
    /// permission's id and the users who held it).
    pub(crate) fn permissions_synced(&self, removed: &[(i64, Vec<i64>)]) {
        self.sessions.invalidate();
        for (id, affected) in removed {
            self.audit_rotation(affected, EntityKind::Permission, *id, "deleted");
        }
    }

    /// [`sync_permissions`](Self::sync_permissions) on the launch lock's
    /// connection; call [`permissions_synced`](Self::permissions_synced)
    /// with the removals once the lock is released.
    pub(crate) async fn sync_permissions_on(
        &self,
        conn: &mut DB::Connection,
        declared: &[PermissionDef],
    ) -> Result<(SyncReport, Vec<(i64, Vec<i64>)>)> {
        crate::core::permissions::validate(declared)?;
        let schema = schema_of::<P<E>>();
        let token_col = schema.require(Role::Token)?.name;
        let desc_col = schema.column(Role::Description).map(|c| c.name);
        let stamps: Vec<_> = schema.timestamp_columns().collect();
        let now = self.now();
        let mut report = SyncReport::default();

        for def in declared {
            let mut sql = Sql::<DB>::new("INSERT INTO ");
            sql.ident(schema.table).push(" (").ident(token_col);
            if let Some(d) = desc_col {
                sql.push(", ").ident(d);
            }
            for s in &stamps {
                sql.push(", ").ident(s);
            }
            sql.push(") VALUES (").bind_text(def.token);
            if desc_col.is_some() {
                let d = def
                    .description
                    .map_or(Value::Null, |d| Value::Text(d.into()));
                sql.push(", ").bind(d, Kind::Text);
            }
            for _ in &stamps {
                sql.push(", ").bind(Value::DateTime(now), Kind::DateTime);
            }
            sql.push(")");
            report.added += DB::insert_new(conn, &sql.text, sql.args, &[token_col]).await?;
        }

        if let Some(d) = desc_col {
            for def in declared {
                let mut sql = Sql::<DB>::new("UPDATE ");
                sql.ident(schema.table).push(" SET ").ident(d).push(" = ");
                match def.description {
                    Some(text) => sql.bind_text(text),
                    None => sql.push("NULL"),
                };
                Self::set_updated(&mut sql, schema, now, ", ");
                sql.push(" WHERE ")
                    .ident(token_col)
                    .push(" = ")
                    .bind_text(def.token);
                match def.description {
                    Some(text) => {
                        sql.push(" AND (").ident(d).push(" IS NULL OR ").ident(d);
                        sql.push(" <> ").bind_text(text).push(")");
                    }
                    None => {
                        sql.push(" AND ").ident(d).push(" IS NOT NULL");
                    }
                }
                report.updated += DB::execute(conn, &sql.text, sql.args).await?;
            }
        }

        let mut removed = Vec::new();
        let mut sql = self.select::<P<E>>();
        sql.push(" ORDER BY ").qualified("t", token_col);
        for perm in Self::fetch_all::<P<E>>(conn, sql).await? {
            if declared.iter().any(|d| d.token == perm.token()) {
                continue;
            }
            let id = perm.id();
            let (n, affected) = self
                .delete_linked(conn, EntityKind::Permission, Subject::Permission(id), id)
                .await?;
            self.rotate_keys(conn, &affected).await?;
            self.announce(conn, Notice::Users(&affected)).await?;
            report.removed += n;
            removed.push((id, affected));
        }
        Ok((report, removed))
    }

    // ----- effective permissions ------------------------------------------------------------

    async fn tokens(&self, subquery: Option<Sql<DB>>) -> Result<BTreeSet<String>> {
        let schema = schema_of::<P<E>>();
        let token = schema.require(Role::Token)?.name;
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident(token).push(" FROM ").ident(schema.table);
        if let Some(sub) = subquery {
            sql.push(" WHERE ").ident(schema.id_column()).push(" IN (");
            // The outer query binds nothing, so the subquery's numbered
            // placeholders ($1..) stay in order.
            sql.push(&sub.text);
            sql.args.extend(sub.args);
            sql.push(")");
        }
        Ok(Self::texts(&mut *self.conn().await?, sql)
            .await?
            .into_iter()
            .collect())
    }

    /// Every permission token in the table.
    pub async fn all_permission_tokens(&self) -> Result<BTreeSet<String>> {
        self.tokens(None).await
    }

    /// A user's effective permission tokens: direct, through bundles, through
    /// groups and their bundles. A superuser has every permission.
    pub async fn user_permissions(&self, user: &U<E>) -> Result<BTreeSet<String>> {
        if user.core().is_superuser {
            return self.all_permission_tokens().await;
        }
        self.tokens(Some(Self::permission_ids_sql(Subject::User(user.id()))))
            .await
    }

    /// A group's effective permission tokens: direct and through its bundles.
    pub async fn group_permissions(&self, group_id: i64) -> Result<BTreeSet<String>> {
        self.tokens(Some(Self::permission_ids_sql(Subject::Group(group_id))))
            .await
    }

    /// A bundle's permission tokens.
    pub async fn bundle_permissions(&self, bundle_id: i64) -> Result<BTreeSet<String>> {
        self.tokens(Some(Self::permission_ids_sql(Subject::Bundle(bundle_id))))
            .await
    }

    /// `SELECT permission_id ...` for everything that grants permissions to `subject`.
    fn permission_ids_sql(subject: Subject) -> Sql<DB> {
        let (up, ub, ug) = (
            Link::UserPermissions.table(),
            Link::UserBundles.table(),
            Link::UserGroups.table(),
        );
        let (gp, gb, bp) = (
            Link::GroupPermissions.table(),
            Link::GroupBundles.table(),
            Link::BundlePermissions.table(),
        );
        let mut sql = Sql::<DB>::new("");
        match subject {
            Subject::User(id) => {
                sql.push("SELECT permission_id FROM ")
                    .ident(up)
                    .push(" WHERE user_id = ")
                    .bind_int(id);
                sql.push(" UNION SELECT bp.permission_id FROM ")
                    .ident(bp)
                    .push(" bp JOIN ")
                    .ident(ub);
                sql.push(" ub ON ub.bundle_id = bp.bundle_id WHERE ub.user_id = ")
                    .bind_int(id);
                sql.push(" UNION SELECT gp.permission_id FROM ")
                    .ident(gp)
                    .push(" gp JOIN ")
                    .ident(ug);
                sql.push(" ug ON ug.group_id = gp.group_id WHERE ug.user_id = ")
                    .bind_int(id);
                sql.push(" UNION SELECT bp.permission_id FROM ")
                    .ident(bp)
                    .push(" bp JOIN ")
                    .ident(gb);
                sql.push(" gb ON gb.bundle_id = bp.bundle_id JOIN ")
                    .ident(ug);
                sql.push(" ug ON ug.group_id = gb.group_id WHERE ug.user_id = ")
                    .bind_int(id);
            }
            Subject::Group(id) => {
                sql.push("SELECT permission_id FROM ")
                    .ident(gp)
                    .push(" WHERE group_id = ")
                    .bind_int(id);
                sql.push(" UNION SELECT bp.permission_id FROM ")
                    .ident(bp)
                    .push(" bp JOIN ")
                    .ident(gb);
                sql.push(" gb ON gb.bundle_id = bp.bundle_id WHERE gb.group_id = ")
                    .bind_int(id);
            }
            Subject::Bundle(id) | Subject::Permission(id) => {
                sql.push("SELECT permission_id FROM ")
                    .ident(bp)
                    .push(" WHERE bundle_id = ")
                    .bind_int(id);
            }
        }
        sql
    }
}
