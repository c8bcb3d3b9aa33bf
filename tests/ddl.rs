//! kegauth's DDL produces keg-auth's schema: same tables, columns, types and
//! nullability (column order aside), compared against the verbatim keg-auth schema.

use crate::common;

use crate::common::{Ctx, KegUser};
use kegauth::prelude::*;
use kegauth::Backend;
use sqlx::{Executor, Row};
use std::collections::BTreeMap;
use std::str::FromStr;

const TABLES: [&str; 11] = [
    "users",
    "groups",
    "bundles",
    "permissions",
    "attempts",
    "keg_auth_user_permissions",
    "keg_auth_user_bundles",
    "keg_auth_user_groups",
    "keg_auth_group_permissions",
    "keg_auth_group_bundles",
    "keg_auth_bundle_permissions",
];

type Columns = BTreeMap<String, BTreeMap<String, (String, bool)>>;

async fn sqlite_columns(pool: &sqlx::SqlitePool) -> Columns {
    let mut out = Columns::new();
    for table in TABLES {
        let rows = sqlx::query(&format!("PRAGMA table_info(\"{table}\")"))
            .fetch_all(pool)
            .await
            .unwrap();
        let cols = rows
            .iter()
            .map(|r| {
                let name: String = r.get("name");
                let ty: String = r.get("type");
                let not_null: bool = r.get::<i64, _>("notnull") != 0;
                (name, (ty.to_uppercase(), not_null))
            })
            .collect();
        out.insert(table.to_string(), cols);
    }
    out
}

#[tokio::test]
async fn sqlite_ddl_matches_keg_auth() {
    let theirs = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
    theirs
        .execute(include_str!("fixtures/keg-auth-schema-sqlite.sql"))
        .await
        .unwrap();
    let ours = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
    for stmt in kegauth::ddl::statements::<sqlx::Sqlite, KegUser>() {
        ours.execute(stmt.as_str()).await.unwrap();
    }
    assert_eq!(sqlite_columns(&ours).await, sqlite_columns(&theirs).await);
}

async fn pg_columns(pool: &sqlx::PgPool, schema: &str) -> Columns {
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text,
                COALESCE(character_maximum_length, 0)::int4 AS len, is_nullable::text
         FROM information_schema.columns WHERE table_schema = $1",
    )
    .bind(schema)
    .fetch_all(pool)
    .await
    .unwrap();
    let mut out = Columns::new();
    for r in rows {
        let table: String = r.get(0);
        let ty = format!("{}({})", r.get::<String, _>(2), r.get::<i32, _>(3));
        let not_null = r.get::<String, _>(4) == "NO";
        out.entry(table)
            .or_default()
            .insert(r.get(1), (ty, not_null));
    }
    // keg-auth's extra test tables are not part of the comparison.
    out.retain(|t, _| TABLES.contains(&t.as_str()));
    out
}

#[tokio::test]
async fn postgres_ddl_matches_keg_auth() {
    let Some(url) = common::backend_url(common::POSTGRES_VAR) else {
        return;
    };
    let base = sqlx::postgres::PgConnectOptions::from_str(&url).unwrap();
    let admin = sqlx::PgPool::connect_with(base.clone()).await.unwrap();
    let (theirs, ours) = (
        format!("kegauth_ddl_theirs_{}", std::process::id()),
        format!("kegauth_ddl_ours_{}", std::process::id()),
    );
    for schema in [&theirs, &ours] {
        admin
            .execute(
                format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}").as_str(),
            )
            .await
            .unwrap();
    }
    let connect = |schema: &str| {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone().options([("search_path", schema)]))
    };
    let theirs_pool = connect(&theirs).await.unwrap();
    theirs_pool
        .execute(include_str!("fixtures/keg-auth-schema-postgres.sql"))
        .await
        .unwrap();
    let ours_pool = connect(&ours).await.unwrap();
    for stmt in kegauth::ddl::statements::<sqlx::Postgres, KegUser>() {
        ours_pool.execute(stmt.as_str()).await.unwrap();
    }
    let (a, b) = (
        pg_columns(&admin, &ours).await,
        pg_columns(&admin, &theirs).await,
    );
    assert_eq!(a.len(), TABLES.len());
    assert_eq!(a, b);
    for schema in [&theirs, &ours] {
        let _ = admin
            .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
            .await;
    }
}

/// Column names are overridable per field and per core column.
#[derive(Debug, AuthEntity)]
#[auth(user, table = "members", login = "username")]
struct Member {
    #[auth(id, column = "member_id")]
    pk: i64,
    #[auth(column = "handle")]
    username: String,
    #[auth(core(password = "pw_hash", session_key = "sess"))]
    core: UserCore,
    #[auth(skip)]
    cached_greeting: String,
}

async fn renamed_columns_round_trip<DB: Backend>(ctx: Ctx<DB>) {
    let store: Store<DB, Member> = Store::new(ctx.store.pool().clone());
    store
        .create_schema()
        .await
        .expect("DDL with renamed columns");
    let mut m = Member {
        pk: 0,
        username: "zed".into(),
        core: UserCore::new(),
        cached_greeting: "not a column".into(),
    };
    store.insert_user(&mut m).await.unwrap();
    store.set_password(&mut m, "a long password").await.unwrap();
    let back = store.user_by_login("ZED").await.unwrap().expect("found");
    assert_eq!(back.pk, m.pk);
    assert_eq!(back.core.session_key, m.core.session_key);
    assert!(
        store
            .verify_password(&back, "a long password")
            .await
            .unwrap()
            .ok
    );
    assert_eq!(
        back.cached_greeting, "",
        "skipped fields are filled with Default"
    );
    let sql = kegauth::ddl::statements::<DB, Member>().join("\n");
    for col in ["member_id", "handle", "pw_hash", "sess"] {
        assert!(sql.contains(col), "{col} in the DDL");
    }
}

on_all_backends!(renamed_columns_round_trip);
