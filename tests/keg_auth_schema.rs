//! A database created by keg-auth (Python) is read and written by kegauth's
//! entities without any schema change.
//!
//! The schema is keg-auth 0.9.1's, verbatim (tests/fixtures/); the seeded rows
//! are written the way SQLAlchemy writes them (password hashes as bytes,
//! uuid4 session keys, microsecond timestamps, the attempt type enum).

use crate::common;

use crate::common::demo;
use crate::common::KegTokenUser;
use crate::common::KegUser as User;
use crate::common::{LEGACY_BCRYPT, LEGACY_PASSWORD};
use kegauth::entity::{Attempt, AttemptCore, AttemptType, Group};
use kegauth::prelude::*;
use kegauth::Backend;
use sqlx::{Executor, Pool};
use std::str::FromStr;

const SQLITE_SCHEMA: &str = include_str!("fixtures/keg-auth-schema-sqlite.sql");
const POSTGRES_SCHEMA: &str = include_str!("fixtures/keg-auth-schema-postgres.sql");

/// Rows as keg-auth writes them: Ann (bcrypt hash, in group `staff` which holds
/// `legacy-perm`), and one login attempt.
fn seed(hash_literal: &str) -> String {
    format!(
        "INSERT INTO permissions (id, token, description) VALUES (1, 'legacy-perm', 'from keg-auth');
         INSERT INTO groups (id, name) VALUES (1, 'staff');
         INSERT INTO keg_auth_group_permissions (group_id, permission_id) VALUES (1, 1);
         INSERT INTO users (id, name, is_verified, email, is_enabled, is_superuser, password,
                            session_key, last_login_utc, disabled_utc)
           VALUES (1, 'Ann', TRUE, 'ann@example.com', TRUE, FALSE, {hash_literal},
                   '3f2504e0-4f89-41d3-9a0c-0305e82c3301', '2024-01-02 03:04:05.123456', NULL);
         INSERT INTO keg_auth_user_groups (user_id, group_id) VALUES (1, 1);
         INSERT INTO attempts (id, user_input, datetime_utc, attempt_type, is_during_lockout,
                               success, source_ip)
           VALUES (1, 'ann@example.com', '2024-01-02 03:04:05.000001', 'login', FALSE, TRUE,
                   '10.0.0.1');"
    )
}

/// Read keg-auth's rows, then write through every kind of operation.
async fn read_and_write<DB: Backend>(store: &Store<DB, User>) {
    // Read what keg-auth wrote.
    let ann = store
        .user_by_login("Ann@Example.com")
        .await
        .expect("read users")
        .expect("Ann is there");
    assert_eq!(ann.id, 1);
    assert_eq!(ann.name.as_deref(), Some("Ann"));
    assert_eq!(ann.core.session_key, "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    assert_eq!(
        ann.core.last_login_utc.map(|d| d.to_string()).as_deref(),
        Some("2024-01-02 03:04:05.123456")
    );
    assert!(store.is_active(&ann));
    let v = store.verify_password(&ann, LEGACY_PASSWORD).await.unwrap();
    assert!(
        v.ok && v.needs_rehash,
        "keg-auth's bcrypt hash verifies and needs a rehash"
    );
    assert!(store
        .user_permissions(&ann)
        .await
        .unwrap()
        .contains("legacy-perm"));
    let attempts = store.attempts().await.expect("read attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].core.attempt_type, Some(AttemptType::Login));
    assert_eq!(attempts[0].core.source_ip.as_deref(), Some("10.0.0.1"));

    // Write: permission sync (the demo's set replaces keg-auth's), users,
    // passwords, memberships, groups, attempts.
    let report = store.sync_permissions(demo::PERMISSIONS).await.unwrap();
    // Every one of the demo's six is new; keg-auth's `legacy-perm` goes.
    assert_eq!((report.added, report.removed), (6, 1));
    let mut ann = store.user(1).await.unwrap().unwrap();
    store.set_password(&mut ann, LEGACY_PASSWORD).await.unwrap();
    let ann = store.user(1).await.unwrap().unwrap();
    assert!(ann
        .core
        .password
        .as_deref()
        .unwrap()
        .starts_with("$argon2id$"));
    assert_ne!(ann.core.session_key, "3f2504e0-4f89-41d3-9a0c-0305e82c3301");

    let mut bob = User {
        id: 0,
        email: "bob@example.com".into(),
        name: Some("Bob".into()),
        core: UserCore::new(),
    };
    bob.core.is_verified = true;
    store.insert_user(&mut bob).await.unwrap();
    let mut admins = Group {
        id: 0,
        name: "admins".into(),
    };
    store.insert_group(&mut admins).await.unwrap();
    let manage = store.permission_ids(&["auth-manage"]).await.unwrap();
    store
        .set_links(Link::GroupPermissions, admins.id, &manage)
        .await
        .unwrap();
    store
        .add_link(Link::UserGroups, bob.id, admins.id)
        .await
        .unwrap();
    let bob = store.user(bob.id).await.unwrap().unwrap();
    assert_eq!(
        store.user_permissions(&bob).await.unwrap(),
        ["auth-manage".to_string()].into()
    );
    let mut attempt = Attempt {
        id: 0,
        core: AttemptCore {
            user_input: "bob@example.com".into(),
            datetime_utc: store.now(),
            attempt_type: Some(AttemptType::Reset),
            is_during_lockout: false,
            success: false,
            source_ip: Some("127.0.0.1".into()),
        },
    };
    store.insert_attempt(&mut attempt).await.unwrap();
    let attempts = store.attempts().await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[1].core.attempt_type, Some(AttemptType::Reset));
    store.delete_group(1).await.unwrap();
    store.delete_user(1).await.unwrap();
    assert_eq!(store.users().await.unwrap().len(), 1);
}

#[tokio::test]
async fn sqlite_database_created_by_keg_auth() {
    let path = std::env::temp_dir().join(format!("kegauth-compat-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool: Pool<sqlx::Sqlite> = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    pool.execute(SQLITE_SCHEMA)
        .await
        .expect("keg-auth's schema");
    // SQLAlchemy's LargeBinary: the hash is stored as bytes.
    pool.execute(seed(&format!("X'{}'", hex(LEGACY_BCRYPT))).as_str())
        .await
        .expect("seed rows");
    let schema_before: Vec<(String,)> =
        sqlx::query_as("SELECT sql FROM sqlite_master ORDER BY name")
            .fetch_all(&pool)
            .await
            .unwrap();

    let store: Store<sqlx::Sqlite, User> = Store::new(pool.clone());
    read_and_write(&store).await;

    let schema_after: Vec<(String,)> =
        sqlx::query_as("SELECT sql FROM sqlite_master ORDER BY name")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(schema_before, schema_after, "no schema change");
    pool.close().await;
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn postgres_database_created_by_keg_auth() {
    let Some(url) = common::backend_url(common::POSTGRES_VAR) else {
        return;
    };
    let base = sqlx::postgres::PgConnectOptions::from_str(&url).unwrap();
    let admin = sqlx::PgPool::connect_with(base.clone()).await.unwrap();
    let schema = format!("kegauth_compat_{}", std::process::id());
    admin
        .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}").as_str())
        .await
        .unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect_with(base.options([("search_path", schema.as_str())]))
        .await
        .unwrap();
    pool.execute(POSTGRES_SCHEMA)
        .await
        .expect("keg-auth's schema");
    pool.execute(seed(&format!("'\\x{}'::bytea", hex(LEGACY_BCRYPT))).as_str())
        .await
        .expect("seed rows");
    // keg-auth's explicit ids leave the sequences behind; move them past the seeds.
    for table in ["permissions", "groups", "users", "attempts"] {
        pool.execute(format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1)").as_str())
            .await
            .unwrap();
    }
    let store: Store<sqlx::Postgres, User> = Store::new(pool.clone());
    read_and_write(&store).await;
    pool.close().await;
    let _ = admin
        .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
        .await;
}

/// keg-auth's username-login table: no `is_verified`, active without verification.
#[derive(Debug, AuthEntity)]
#[auth(user, table = "users_no_email", login = "username")]
struct NoEmailUser {
    id: i64,
    username: String,
    #[auth(core)]
    core: UserCore,
}

#[tokio::test]
async fn sqlite_username_and_token_user_tables_of_keg_auth() {
    use kegauth::entity::UserEntity;
    let pool = keg_auth_in_memory().await;

    let plain: Store<sqlx::Sqlite, NoEmailUser> = Store::new(pool.clone());
    let mut sam = NoEmailUser {
        id: 0,
        username: "sam".into(),
        core: UserCore::new(),
    };
    plain.insert_user(&mut sam).await.unwrap();
    let sam = plain.user_by_login("SAM").await.unwrap().expect("found");
    assert!(plain.is_active(&sam), "username users need no verification");
    assert!(sam.core.is_verified);

    let tokens: Store<sqlx::Sqlite, KegTokenUser> = Store::new(pool.clone());
    let mut tia = KegTokenUser {
        id: 0,
        email: "tia@example.com".into(),
        token: None,
        core: UserCore::new(),
    };
    assert!(tia.set_api_token_hash(Some(vec![1, 2, 3, 255])));
    tokens.insert_user(&mut tia).await.unwrap();
    let tia = tokens.user(tia.id).await.unwrap().expect("found");
    assert_eq!(tia.api_token_hash(), Some(&[1u8, 2, 3, 255][..]));
}

/// keg_auth_ta's `users` has no token column; the demo's user names one. The
/// launch check stops on it, unless the column is allowed to be missing:
/// then it reads as no token, users are read and written without it, and
/// issuing an API token says why it cannot.
#[tokio::test]
async fn sqlite_a_users_table_without_the_token_column() {
    let pool = keg_auth_in_memory().await;
    pool.execute(seed(&format!("X'{}'", hex(LEGACY_BCRYPT))).as_str())
        .await
        .expect("seed rows");
    let store: Store<sqlx::Sqlite, common::User> = Store::new(pool.clone());
    let err = store.check_tables().await.expect_err("no token column");
    assert!(err.to_string().contains("`users` table"), "{err}");
    assert!(store.user_by_login("ann@example.com").await.is_err());

    assert!(store.allow_missing_api_token_column().await.unwrap());
    assert!(store.token_column_absent());
    store
        .check_tables()
        .await
        .expect("the other columns are there");
    let mut ann = store
        .user_by_login("ann@example.com")
        .await
        .unwrap()
        .expect("Ann");
    assert_eq!(ann.token, None);
    ann.name = Some("Ann B".into());
    store
        .update_user(&mut ann)
        .await
        .expect("update without the column");
    let mut bob = common::User::new("bob@example.com");
    store
        .insert_user(&mut bob)
        .await
        .expect("insert without the column");
    let err = store
        .reset_auth_token(&mut ann, &Default::default())
        .await
        .expect_err("no column to keep it in");
    assert!(
        err.to_string()
            .contains("API tokens are off: the `users` table has no `token` column"),
        "{err}"
    );
    assert_eq!(
        store
            .user_by_api_token("ann@example.com", "x")
            .await
            .unwrap()
            .map(|u| u.id),
        None
    );
    // The same store on a table that has the column keeps using it.
    let full: Store<sqlx::Sqlite, KegTokenUser> = Store::new(pool.clone());
    assert!(!full.allow_missing_api_token_column().await.unwrap());
}

/// An in-memory SQLite database with keg-auth's schema.
async fn keg_auth_in_memory() -> sqlx::SqlitePool {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    pool.execute(SQLITE_SCHEMA)
        .await
        .expect("keg-auth's schema");
    pool
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}
