//! DDL for each backend, compatible with keg-auth's schema.
//!
//! Apps own their migrations; kegauth prints (or applies) the statements that
//! create its tables with keg-auth's names and types, including the app's own
//! columns from the derive. Every statement is idempotent (`IF NOT EXISTS`).
//!
//! ```
//! # #[derive(kegauth::AuthEntity)] #[auth(user)]
//! # struct User { id: i64, email: String, #[auth(core)] core: kegauth::entity::UserCore }
//! let sql = kegauth::ddl::statements::<sqlx::Sqlite, User>().join(";\n");
//! assert!(sql.contains(r#"CREATE TABLE IF NOT EXISTS "users""#));
//! assert!(sql.contains(r#""session_key" VARCHAR(36) NOT NULL"#));
//! assert!(sql.contains("keg_auth_user_groups"));
//! ```

use crate::core::backend::{Backend, Dialect};
use crate::core::entity::{AuthEntity, CoreField, EntityKind, EntitySchema, EntitySet, Role};
use crate::core::links::Link;

fn q<DB: Backend>(ident: &str) -> String {
    let mut s = String::new();
    DB::quote(ident, &mut s);
    s
}

fn table<DB: Backend>(schema: &EntitySchema, indexes: &[(&str, &[&str])]) -> Vec<String> {
    let mut cols = Vec::new();
    let mut uniques = Vec::new();
    for col in &schema.columns {
        match col.role {
            Role::Id => cols.push(format!("{} {}", q::<DB>(col.name), DB::id_column_type())),
            Role::Created | Role::Updated => {}
            _ => {
                let ty = DB::column_type(col.kind, col.opts.max_len, col.opts.unique, col.pg_type);
                let null = if col.nullable { "" } else { " NOT NULL" };
                cols.push(format!("{} {ty}{null}", q::<DB>(col.name)));
                if col.opts.unique {
                    uniques.push(col.name);
                }
            }
        }
    }
    for name in schema.timestamp_columns() {
        cols.push(format!("{} {}", q::<DB>(name), DB::timestamp_column_type()));
    }
    cols.push(format!("PRIMARY KEY ({})", q::<DB>(schema.id_column())));
    for u in uniques {
        cols.push(format!("UNIQUE ({})", q::<DB>(u)));
    }
    create_table::<DB>(schema.table, cols, indexes)
}

/// The `CREATE TABLE IF NOT EXISTS` of a `#[derive(Crud)]` record's table,
/// for apps that let kegauth create it (the demo does); apps with their own
/// migrations ignore it.
///
/// ```
/// #[derive(kegauth::Crud, Default)]
/// #[crud(table = "widgets", path = "/widgets", name = "Widget", plural = "Widgets")]
/// struct Widget {
///     id: i64,
///     #[crud(list, label, form, max_len = 80)]
///     name: String,
///     #[crud(form)]
///     due: Option<chrono::NaiveDate>,
/// }
/// use kegauth::crud::Record;
/// let sql = kegauth::ddl::record_table::<sqlx::Sqlite>(Widget::schema()).join(";\n");
/// assert!(sql.contains(r#"CREATE TABLE IF NOT EXISTS "widgets""#));
/// assert!(sql.contains(r#""name" VARCHAR(80) NOT NULL"#));
/// assert!(sql.contains(r#""due" DATE,"#) || sql.contains(r#""due" DATE\n"#));
/// ```
pub fn record_table<DB: Backend>(schema: &crate::core::records::RecordSchema) -> Vec<String> {
    let mut cols = vec![format!("{} {}", q::<DB>(schema.id), DB::id_column_type())];
    for col in &schema.columns {
        let ty = DB::column_type(col.kind, col.max_len, false, None);
        let null = if col.nullable { "" } else { " NOT NULL" };
        cols.push(format!("{} {ty}{null}", q::<DB>(col.name)));
    }
    cols.push(format!("PRIMARY KEY ({})", q::<DB>(schema.id)));
    create_table::<DB>(schema.table, cols, &[])
}

/// `CREATE TABLE` with `body` (columns and constraints) and its indexes,
/// inside the table or after it as the backend wants.
fn create_table<DB: Backend>(
    name: &str,
    mut body: Vec<String>,
    indexes: &[(&str, &[&str])],
) -> Vec<String> {
    let index_sql = |on: &[&str]| on.iter().map(|c| q::<DB>(c)).collect::<Vec<_>>().join(", ");
    if !DB::SEPARATE_INDEXES {
        for (index, on) in indexes {
            body.push(format!("INDEX {} ({})", q::<DB>(index), index_sql(on)));
        }
    }
    let mut out = vec![format!(
        "CREATE TABLE IF NOT EXISTS {} (\n    {}\n){}",
        q::<DB>(name),
        body.join(",\n    "),
        DB::table_options()
    )];
    if DB::SEPARATE_INDEXES {
        for (index, on) in indexes {
            out.push(format!(
                "CREATE INDEX IF NOT EXISTS {} ON {} ({})",
                q::<DB>(index),
                q::<DB>(name),
                index_sql(on)
            ));
        }
    }
    out
}

fn link_table<DB: Backend, E: EntitySet>(link: Link) -> Vec<String> {
    let (lk, rk) = link.kinds();
    let (l, r) = link.columns();
    let target = |kind: EntityKind| -> &'static EntitySchema {
        match kind {
            EntityKind::User => E::User::schema(),
            EntityKind::Group => E::Group::schema(),
            EntityKind::Bundle => E::Bundle::schema(),
            _ => E::Permission::schema(),
        }
    };
    let (lt, rt) = (target(lk), target(rk));
    let index = format!("ix_{}_{}", link.table(), r);
    let mut body = vec![
        format!("{} INTEGER NOT NULL", q::<DB>(l)),
        format!("{} INTEGER NOT NULL", q::<DB>(r)),
        format!("PRIMARY KEY ({}, {})", q::<DB>(l), q::<DB>(r)),
        format!(
            "FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE CASCADE",
            q::<DB>(l),
            q::<DB>(lt.table),
            q::<DB>(lt.id_column())
        ),
        format!(
            "FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE CASCADE",
            q::<DB>(r),
            q::<DB>(rt.table),
            q::<DB>(rt.id_column())
        ),
    ];
    if !DB::SEPARATE_INDEXES {
        body.push(format!("INDEX {} ({})", q::<DB>(&index), q::<DB>(r)));
    }
    let mut out = vec![format!(
        "CREATE TABLE IF NOT EXISTS {} (\n    {}\n){}",
        q::<DB>(link.table()),
        body.join(",\n    "),
        DB::table_options()
    )];
    if DB::SEPARATE_INDEXES {
        out.push(format!(
            "CREATE INDEX IF NOT EXISTS {} ON {} ({})",
            q::<DB>(&index),
            q::<DB>(link.table()),
            q::<DB>(r)
        ));
    }
    out
}

/// Every statement that creates kegauth's schema for `E` on `DB`, in dependency order.
pub fn statements<DB: Backend, E: EntitySet>() -> Vec<String> {
    let mut out = Vec::new();
    let attempts = E::Attempt::schema();
    let pg_types: Vec<&str> = attempts.columns.iter().filter_map(|c| c.pg_type).collect();
    if DB::DIALECT == Dialect::Postgres && pg_types.contains(&"ka_attempt_types") {
        out.push(
            "DO $$ BEGIN CREATE TYPE ka_attempt_types AS ENUM ('forgot', 'login', 'reset'); \
             EXCEPTION WHEN duplicate_object THEN NULL; END $$"
                .to_string(),
        );
    }
    out.extend(table::<DB>(E::Permission::schema(), &[]));
    out.extend(table::<DB>(E::Bundle::schema(), &[]));
    out.extend(table::<DB>(E::Group::schema(), &[]));
    out.extend(table::<DB>(E::User::schema(), &[]));
    let col = |f: CoreField| attempts.column(Role::Core(f)).map_or("", |c| c.name);
    let (input, when, ip) = (
        col(CoreField::UserInput),
        col(CoreField::DatetimeUtc),
        col(CoreField::SourceIp),
    );
    let by_input = [input, when];
    let by_ip = [ip, when];
    let ix_input = format!("ix_{}_user_input", attempts.table);
    let ix_ip = format!("ix_{}_source_ip", attempts.table);
    out.extend(table::<DB>(
        attempts,
        &[
            (ix_input.as_str(), &by_input[..]),
            (ix_ip.as_str(), &by_ip[..]),
        ],
    ));
    for link in Link::ALL {
        out.extend(link_table::<DB, E>(link));
    }
    out.push(oauth_identities::<DB, E>());
    out.extend(audit_events::<DB>());
    out.extend(two_factor_tables::<DB, E>());
    out.extend(mail_sends::<DB>());
    out.extend(sessions_table::<DB, E>());
    out
}

/// kegauth's own table of the mails a request from outside made it send
/// (see `mail_limit`): one row per mail, in a slot of its address, kind
/// and window; the primary key keeps a window to `mail_limit` rows even
/// with several app instances sending at once.
pub const MAIL_SENDS: &str = "kegauth_mail_sends";

fn mail_sends<DB: Backend>() -> Vec<String> {
    use crate::core::entity::Kind;
    let int = DB::column_type(Kind::Int, None, false, None);
    create_table::<DB>(
        MAIL_SENDS,
        vec![
            format!(
                "{} {} NOT NULL",
                q::<DB>("address"),
                DB::column_type(Kind::Text, Some(255), false, None)
            ),
            format!(
                "{} {} NOT NULL",
                q::<DB>("kind"),
                DB::column_type(Kind::Text, Some(32), false, None)
            ),
            format!("{} {int} NOT NULL", q::<DB>("window_start")),
            format!("{} {int} NOT NULL", q::<DB>("slot")),
            format!(
                "PRIMARY KEY ({}, {}, {}, {})",
                q::<DB>("address"),
                q::<DB>("kind"),
                q::<DB>("window_start"),
                q::<DB>("slot")
            ),
        ],
        &[],
    )
}

/// kegauth's own table of logged-in sessions (see [`crate::store::sessions`]):
/// one row per login, named by the session cookie; a deleted row ends that
/// device's session. `session_key` is the user's key when the row was made
/// (a row under an older key is dead: the key rotated since), `last_seen_at`
/// is written at most once a minute, `expires_at` is set for a remembered
/// session ("remember me").
pub const SESSIONS: &str = "kegauth_sessions";

fn sessions_table<DB: Backend, E: EntitySet>() -> Vec<String> {
    use crate::core::entity::Kind;
    let users = E::User::schema();
    let text = |n: u32| DB::column_type(Kind::Text, Some(n), false, None);
    let when = DB::column_type(Kind::DateTime, None, false, None);
    create_table::<DB>(
        SESSIONS,
        vec![
            format!("{} {} NOT NULL", q::<DB>("id"), text(64)),
            format!("{} INTEGER NOT NULL", q::<DB>("user_id")),
            format!("{} {} NOT NULL", q::<DB>("session_key"), text(64)),
            format!("{} {when} NOT NULL", q::<DB>("created_at")),
            format!("{} {when} NOT NULL", q::<DB>("last_seen_at")),
            format!("{} {when}", q::<DB>("expires_at")),
            format!("{} {}", q::<DB>("user_agent"), text(255)),
            format!("{} {}", q::<DB>("client_ip"), text(64)),
            format!("PRIMARY KEY ({})", q::<DB>("id")),
            format!(
                "FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE CASCADE",
                q::<DB>("user_id"),
                q::<DB>(users.table),
                q::<DB>(users.id_column())
            ),
        ],
        &[("ix_kegauth_sessions_user", &["user_id"])],
    )
}

/// kegauth's own table of TOTP second factors: one row per user, the secret
/// sealed (see [`crate::two_factor::SecretBox`]), `confirmed_at` NULL while
/// the enrolment waits for its first code, `last_step` the last TOTP step
/// accepted (a code is never accepted twice).
pub const TWO_FACTOR: &str = "kegauth_two_factor";
/// kegauth's own table of recovery codes: their SHA-256 (hex), and when each
/// was used.
pub const RECOVERY_CODES: &str = "kegauth_recovery_codes";

fn two_factor_tables<DB: Backend, E: EntitySet>() -> Vec<String> {
    use crate::core::entity::Kind;
    let users = E::User::schema();
    let user_fk = format!(
        "FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE CASCADE",
        q::<DB>("user_id"),
        q::<DB>(users.table),
        q::<DB>(users.id_column())
    );
    let when = DB::column_type(Kind::DateTime, None, false, None);
    let int = DB::column_type(Kind::Int, None, false, None);
    let mut out = create_table::<DB>(
        TWO_FACTOR,
        vec![
            format!("{} INTEGER NOT NULL", q::<DB>("user_id")),
            format!(
                "{} {} NOT NULL",
                q::<DB>("totp_secret"),
                DB::column_type(Kind::Bytes, None, false, None)
            ),
            format!("{} {when}", q::<DB>("confirmed_at")),
            format!("{} {int}", q::<DB>("last_step")),
            format!("{} {when} NOT NULL", q::<DB>("created_at")),
            format!("PRIMARY KEY ({})", q::<DB>("user_id")),
            user_fk.clone(),
        ],
        &[],
    );
    out.extend(create_table::<DB>(
        RECOVERY_CODES,
        vec![
            format!("{} {}", q::<DB>("id"), DB::id_column_type()),
            format!("{} INTEGER NOT NULL", q::<DB>("user_id")),
            format!(
                "{} {} NOT NULL",
                q::<DB>("digest"),
                DB::column_type(Kind::Text, Some(64), false, None)
            ),
            format!("{} {when}", q::<DB>("used_at")),
            format!("PRIMARY KEY ({})", q::<DB>("id")),
            format!("UNIQUE ({}, {})", q::<DB>("user_id"), q::<DB>("digest")),
            user_fk.clone(),
        ],
        &[],
    ));
    let bytes = DB::column_type(Kind::Bytes, None, false, None);
    out.extend(create_table::<DB>(
        PASSKEYS,
        vec![
            format!("{} {}", q::<DB>("id"), DB::id_column_type()),
            format!("{} INTEGER NOT NULL", q::<DB>("user_id")),
            format!(
                "{} {} NOT NULL",
                q::<DB>("credential_digest"),
                DB::column_type(Kind::Text, Some(64), false, None)
            ),
            format!("{} {bytes} NOT NULL", q::<DB>("credential_id")),
            format!("{} {bytes} NOT NULL", q::<DB>("user_handle")),
            format!("{} {bytes} NOT NULL", q::<DB>("public_key")),
            format!("{} {bytes} NOT NULL", q::<DB>("sign_state")),
            format!("{} {int} NOT NULL", q::<DB>("transports")),
            format!(
                "{} {} NOT NULL",
                q::<DB>("name"),
                DB::column_type(Kind::Text, Some(100), false, None)
            ),
            format!(
                "{} {} NOT NULL",
                q::<DB>("kind"),
                DB::column_type(Kind::Text, Some(16), false, None)
            ),
            format!("{} {when} NOT NULL", q::<DB>("created_at")),
            format!("{} {when}", q::<DB>("last_used_at")),
            format!("PRIMARY KEY ({})", q::<DB>("id")),
            format!("UNIQUE ({})", q::<DB>("credential_digest")),
            user_fk,
        ],
        &[("ix_kegauth_passkeys_user", &["user_id"])],
    ));
    out
}

/// kegauth's own table of passkeys and security keys (see
/// [`crate::passkeys`]): one row per registered credential, found by the
/// SHA-256 (hex) of its credential id, with its public key, signature
/// counter and flags as webauthn_rp encodes them.
pub const PASSKEYS: &str = "kegauth_passkeys";

/// kegauth's own table of audit events (see [`crate::audit`]): one row per
/// event, chained by hash; `UNIQUE (prev_hash)` keeps the chain a line even
/// with several app instances writing at once.
pub const AUDIT_EVENTS: &str = "kegauth_audit_events";

fn audit_events<DB: Backend>() -> Vec<String> {
    use crate::core::entity::Kind;
    let text = |n: u32| DB::column_type(Kind::Text, Some(n), false, None);
    let int = DB::column_type(Kind::Int, None, false, None);
    let cols = [
        format!("{} {}", q::<DB>("id"), DB::id_column_type()),
        format!(
            "{} {} NOT NULL",
            q::<DB>("occurred_at"),
            DB::column_type(Kind::DateTime, None, false, None)
        ),
        format!("{} {} NOT NULL", q::<DB>("kind"), text(64)),
        format!("{} {int}", q::<DB>("actor_id")),
        format!("{} {}", q::<DB>("subject_kind"), text(16)),
        format!("{} {int}", q::<DB>("subject_id")),
        format!("{} {}", q::<DB>("client_ip"), text(64)),
        format!("{} {} NOT NULL", q::<DB>("outcome"), text(16)),
        format!(
            "{} {} NOT NULL",
            q::<DB>("detail"),
            DB::column_type(Kind::Text, None, false, None)
        ),
        format!("{} {} NOT NULL", q::<DB>("prev_hash"), text(64)),
        format!("{} {} NOT NULL", q::<DB>("hash"), text(64)),
        format!("PRIMARY KEY ({})", q::<DB>("id")),
        format!("UNIQUE ({})", q::<DB>("prev_hash")),
    ];
    let indexes: [(&str, &[&str]); 3] = [
        ("ix_kegauth_audit_events_actor", &["actor_id", "id"]),
        (
            "ix_kegauth_audit_events_subject",
            &["subject_kind", "subject_id", "id"],
        ),
        ("ix_kegauth_audit_events_kind", &["kind", "occurred_at"]),
    ];
    create_table::<DB>(AUDIT_EVENTS, cols.to_vec(), &indexes)
}

/// kegauth's own table (not keg-auth's) of OAuth identities: which user a
/// provider's `(issuer, subject)` is, one identity per user and issuer. Only
/// read when `oauth_profiles` are configured.
pub const OAUTH_IDENTITIES: &str = "kegauth_oauth_identities";

fn oauth_identities<DB: Backend, E: EntitySet>() -> String {
    let users = E::User::schema();
    format!(
        "CREATE TABLE IF NOT EXISTS {t} (\n    {iss} VARCHAR(255) NOT NULL,\n    \
         {sub} VARCHAR(255) NOT NULL,\n    {uid} INTEGER NOT NULL,\n    \
         PRIMARY KEY ({iss}, {sub}),\n    UNIQUE ({uid}, {iss}),\n    \
         FOREIGN KEY ({uid}) REFERENCES {ut} ({ui}) ON DELETE CASCADE\n){opts}",
        t = q::<DB>(OAUTH_IDENTITIES),
        iss = q::<DB>("issuer"),
        sub = q::<DB>("subject"),
        uid = q::<DB>("user_id"),
        ut = q::<DB>(users.table),
        ui = q::<DB>(users.id_column()),
        opts = DB::table_options(),
    )
}

/// The statements as one script, each ending with `;`.
pub fn script<DB: Backend, E: EntitySet>() -> String {
    statements::<DB, E>()
        .into_iter()
        .map(|s| s + ";\n")
        .collect::<Vec<_>>()
        .join("\n")
}
