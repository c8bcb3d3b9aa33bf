//! kegauth takes over a database that keg-auth itself made.
//!
//! keg-auth 0.9.1 (Python, from PyPI, installed by tests/keg-auth/setup.sh)
//! creates the database with its own test app, keg_auth_ta: its schema, its
//! permission sync, users with bcrypt passwords (one with pbkdf2-sha256), groups,
//! bundles, a disabled and an unverified user, and an API token made by
//! `UserTokenMixin`. Then the demo, unchanged, launches on that database as a
//! separate process (on PostgreSQL, the demo built with `--features
//! demo-postgres`, named by KEGAUTH_DEMO_POSTGRES_BIN), and every keg-auth user
//! is checked as a browser sees it. The rolling-migration tests run keg-auth
//! and kegauth on one database and check that each accepts what the other wrote.
//!
//! Without keg-auth installed the tests are skipped with a notice (under
//! `CI=true`, they fail).

use crate::common;

use crate::common::KegTokenUser;

use crate::common::demo_process::{built_demo, Demo, DEMO_POSTGRES_VAR};
use crate::common::keg_auth::{users, Expected, KegAuth};
use crate::common::web::{OnPostgres, OnSqlite, SqliteDb, TestBackend};
use crate::common::{demo, demo_auth, random_secret, TempDb};
use kegauth::prelude::*;
use kegauth::{AuthDb, Backend};
use rocket::{get, routes};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The tokens keg-auth's test app declares (the demo declares them and `permission3`).
const KEG_AUTH_PERMISSIONS: [&str; 3] = ["auth-manage", "permission1", "permission2"];

/// SQLAlchemy's URL for the database at the sqlx `url`.
fn sqlalchemy_url(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let path = rest.split('?').next().unwrap_or(rest);
        return format!("sqlite:///{path}");
    }
    if let Some(rest) = url.strip_prefix("postgres://") {
        return format!("postgresql+psycopg://{rest}");
    }
    panic!("no SQLAlchemy URL for {url}")
}

/// The demo binary for `url`'s backend, or None (with a notice) when it was not built.
fn demo_binary(url: &str) -> Option<PathBuf> {
    if url.starts_with("sqlite:") {
        return Some(common::demo_bin());
    }
    built_demo(
        DEMO_POSTGRES_VAR,
        "demo-postgres",
        "the takeover on PostgreSQL",
    )
}

/// A table's name and one of its columns.
type TableColumn = (String, String);
/// A permission row: id and token.
type PermissionRow = (i64, String);

/// Every table's columns, and the permission rows.
struct Snapshot {
    columns: BTreeMap<String, Vec<String>>,
    permissions: Vec<PermissionRow>,
}

async fn snapshot(url: &str) -> Snapshot {
    let (columns, permissions): (Vec<TableColumn>, Vec<PermissionRow>) = if url
        .starts_with("sqlite:")
    {
        let pool = sqlx::SqlitePool::connect(url).await.expect("open SQLite");
        let columns = sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' ORDER BY m.name, p.cid",
        )
        .fetch_all(&pool)
        .await
        .expect("read the columns");
        let permissions = sqlx::query_as("SELECT id, token FROM permissions ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("read the permissions");
        pool.close().await;
        (columns, permissions)
    } else {
        let pool = sqlx::PgPool::connect(url).await.expect("open PostgreSQL");
        let columns = sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
        )
        .fetch_all(&pool)
        .await
        .expect("read the columns");
        let permissions = sqlx::query_as("SELECT id::bigint, token FROM permissions ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("read the permissions");
        pool.close().await;
        (columns, permissions)
    };
    let mut by_table: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (table, column) in columns {
        by_table.entry(table).or_default().push(column);
    }
    Snapshot {
        columns: by_table,
        permissions,
    }
}

/// The demo launched on keg-auth's database changed none of keg-auth's
/// tables, and kept every permission row keg-auth had.
fn assert_untouched(before: &Snapshot, after: &Snapshot) {
    for (table, columns) in &before.columns {
        assert_eq!(
            after.columns.get(table),
            Some(columns),
            "the demo changed keg-auth's table `{table}`"
        );
    }
    for row in &before.permissions {
        assert!(
            after.permissions.contains(row),
            "the permission sync lost or renumbered {row:?}: {:?}",
            after.permissions
        );
    }
    let tokens: Vec<&str> = after.permissions.iter().map(|(_, t)| t.as_str()).collect();
    let unique: BTreeSet<&str> = tokens.iter().copied().collect();
    assert_eq!(
        tokens.len(),
        unique.len(),
        "a permission row was duplicated"
    );
    let added: Vec<&str> = unique
        .iter()
        .copied()
        .filter(|t| !KEG_AUTH_PERMISSIONS.contains(t))
        .collect();
    assert_eq!(
        added,
        ["permission3", "projects-edit", "projects-view"],
        "the demo declares three more permissions (its third, and its projects' two)"
    );
}

/// What keg-auth's `get_all_permission_tokens()` said, as a set.
fn keg_auth_tokens(user: &serde_json::Value) -> BTreeSet<String> {
    user["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .map(|t| t.as_str().expect("a token").to_string())
        .collect()
}

/// Every user's effective permissions, read by kegauth's store, match keg-auth's.
async fn assert_same_permissions<DB: Backend>(url: &str, expected: &Expected) {
    let pool = sqlx::Pool::<DB>::connect(url)
        .await
        .expect("open the database");
    let store: Store<DB, demo::User> = Store::new(pool.clone());
    // keg_auth_ta's `users` has no token column (the demo's entity names one).
    assert!(store.allow_missing_api_token_column().await.expect("probe"));
    for (email, _, user) in users(expected) {
        let found = store
            .user_by_login(email)
            .await
            .expect("read the user")
            .unwrap_or_else(|| panic!("kegauth finds {email}"));
        assert_eq!(found.id, user["id"].as_i64().expect("id"));
        let ours: BTreeSet<String> = store
            .user_permissions(&found)
            .await
            .expect("effective permissions")
            .into_iter()
            // The demo declares one permission keg-auth's app does not.
            .filter(|t| KEG_AUTH_PERMISSIONS.contains(&t.as_str()))
            .collect();
        assert_eq!(
            ours,
            keg_auth_tokens(user),
            "{email}'s effective permissions differ from keg-auth's"
        );
        assert_eq!(
            store.is_active(&found),
            user["is_active"].as_bool().expect("is_active"),
            "{email} is active for one and not the other"
        );
    }
    pool.close().await;
}

/// Every keg-auth user logs in on the demo with their keg-auth password (the
/// disabled and unverified ones are refused, as keg-auth refuses them), and
/// the protected pages answer as their keg-auth permissions say.
async fn assert_logins(demo: &Demo, expected: &Expected) {
    for (email, password, user) in users(expected) {
        let (browser, status, location) = demo.login(email, password).await;
        let active = user["is_active"].as_bool().expect("is_active");
        if !active {
            let secret = demo.status(&browser, "/secret1").await;
            assert!(
                status == 200 && secret != 200,
                "{email} (inactive in keg-auth) was let in: {status} {location}, /secret1 {secret}"
            );
            continue;
        }
        assert_eq!(
            (status, location.as_str()),
            (303, "/"),
            "{email} logs in with the password keg-auth set"
        );
        let tokens = keg_auth_tokens(user);
        let expect = |allowed: bool| if allowed { 200 } else { 403 };
        assert_eq!(demo.status(&browser, "/secret1").await, 200, "{email}");
        assert_eq!(
            demo.status(&browser, "/manage").await,
            expect(tokens.contains("auth-manage")),
            "{email}: /manage needs auth-manage"
        );
        assert_eq!(
            demo.status(&browser, "/secret2").await,
            expect(tokens.contains("permission1") || tokens.contains("permission2")),
            "{email}: /secret2 needs permission1 or permission2"
        );
        assert_eq!(
            demo.status(&browser, "/secret-nested").await,
            // permission3 is kegauth's alone, held only by a superuser.
            expect(
                (tokens.contains("permission1") && tokens.contains("permission2"))
                    || user["is_superuser"] == true
            ),
            "{email}: /secret-nested"
        );
    }
}

/// The admin pages list keg-auth's rows.
async fn assert_admin_pages(demo: &Demo, expected: &Expected) {
    let (admin, email, password) = users(expected)
        .into_iter()
        .find(|(_, _, u)| u["is_superuser"] == true)
        .map(|(e, p, u)| (u, e, p))
        .expect("a superuser");
    let _ = admin;
    let (browser, status, _) = demo.login(email, password).await;
    assert_eq!(status, 303, "the superuser logs in");
    let listed = |page: &str, name: &str| page.contains(&format!(">{name}<"));
    let page = demo.text(&browser, "/users?per_page=100").await;
    for (email, _, _) in users(expected) {
        assert!(listed(&page, email), "/users lists {email}");
    }
    for (section, names) in [
        ("groups", &expected["groups"]),
        ("bundles", &expected["bundles"]),
    ] {
        let page = demo.text(&browser, &format!("/{section}")).await;
        for name in names.as_object().expect("names").keys() {
            assert!(listed(&page, name), "/{section} lists {name}");
        }
    }
    let page = demo.text(&browser, "/permissions").await;
    for token in KEG_AUTH_PERMISSIONS {
        assert!(listed(&page, token), "/permissions lists {token}");
    }
}

#[requires_user(request_loaders = [TokenRequestLoader])]
#[get("/api/me")]
fn api_me(user: AuthUser<KegTokenUser>) -> String {
    user.email.clone()
}

/// The API token keg-auth made works in `X-Auth-Token` on a kegauth app
/// whose user is keg-auth's `UserTokenMixin` user (a wrong one does not).
async fn assert_token<D: rocket_db_pools::Database + AuthDb>(
    url: &str,
    expected: &Expected,
    password_scheme: &str,
) {
    let rocket = rocket::custom(
        rocket::Config::figment()
            .merge(("databases.main.url", url))
            .merge(("secret_key", random_secret()))
            .merge(("kegauth.password_scheme", password_scheme)),
    )
    .attach(D::init())
    .attach(
        AuthManager::<D, KegTokenUser>::builder()
            .permissions(demo::PERMISSIONS)
            .request_loader(TokenRequestLoader::default())
            .build(),
    )
    .mount("/", routes![api_me]);
    let client = rocket::local::asynchronous::Client::untracked(rocket)
        .await
        .expect("the token app launches on keg-auth's database");
    let token = expected["token_user"]["api_token"]
        .as_str()
        .expect("the API token");
    let me = |value: String| {
        let client = &client;
        async move {
            let answer = client
                .get("/api/me")
                .header(rocket::http::Header::new("X-Auth-Token", value))
                .dispatch()
                .await;
            (answer.status().code, answer.into_string().await)
        }
    };
    assert_eq!(
        me(token.to_string()).await,
        (
            200,
            expected["token_user"]["email"].as_str().map(String::from)
        ),
        "keg-auth's API token"
    );
    let (status, _) = me(format!("{token}x")).await;
    assert_eq!(status, 401, "a wrong token");
}

async fn takeover<B: TestBackend>() {
    let Some(peer) = KegAuth::find() else {
        return;
    };
    let Some((url, _cleanup)) = B::database().await else {
        return;
    };
    let Some(bin) = demo_binary(&url) else {
        return;
    };
    let expected = peer.make_db(&sqlalchemy_url(&url));
    let before = snapshot(&url).await;

    let demo = Demo::start(bin, &url, &random_secret(), "").await;
    assert_untouched(&before, &snapshot(&url).await);
    assert_same_permissions::<<B::Db as AuthDb>::Backend>(&url, &expected).await;
    assert_logins(&demo, &expected).await;
    assert_admin_pages(&demo, &expected).await;
    let log = demo.server.log();
    assert!(
        !log.lines()
            .any(|l| l.starts_with("Error:") || l.contains("500 Internal")),
        "the demo logged an error:\n{log}"
    );
    drop(demo);
    assert_token::<B::Db>(&url, &expected, "argon2id").await;
}

mod takeover {
    #[rocket::async_test]
    async fn sqlite() {
        super::takeover::<super::OnSqlite>().await
    }
    #[rocket::async_test]
    async fn postgres() {
        super::takeover::<super::OnPostgres>().await
    }
}

/// One database, both apps: what each writes, the other accepts.
struct Shared {
    peer: KegAuth,
    db: TempDb,
    sqlalchemy: String,
    secret: String,
    expected: Expected,
}

impl Shared {
    fn new() -> Option<Shared> {
        let peer = KegAuth::find()?;
        let db = TempDb::new();
        // keg-auth makes the file; the demo's URL creates it only if missing.
        let sqlalchemy = sqlalchemy_url(&db.url());
        let expected = peer.make_db(&sqlalchemy);
        Some(Shared {
            peer,
            db,
            sqlalchemy,
            secret: random_secret(),
            expected,
        })
    }

    /// `demo auth set-password <email>` with `password_scheme = <scheme>`.
    fn kegauth_sets_password(&self, scheme: &str, email: &str, password: &str) {
        let out = demo_auth(
            &self.db,
            &self.secret,
            &format!("password_scheme=\"{scheme}\""),
            &["set-password", email],
            &format!("{password}\n{password}\n"),
        );
        assert!(
            out.status.success(),
            "set-password: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    async fn stored_hash(&self, email: &str) -> String {
        let pool = sqlx::SqlitePool::connect(&self.db.url())
            .await
            .expect("open");
        let (hash,): (Vec<u8>,) = sqlx::query_as("SELECT password FROM users WHERE email = ?")
            .bind(email)
            .fetch_one(&pool)
            .await
            .expect("the user's hash");
        pool.close().await;
        String::from_utf8(hash).expect("a text hash")
    }

    fn keg_auth_logs_in(&self, email: &str, password: &str) -> bool {
        self.peer.logs_in(&self.sqlalchemy, email, password)
    }
}

/// With `password_scheme = "bcrypt"`, a password set by kegauth's CLI logs in
/// on keg-auth's own app; with the default (argon2id) keg-auth cannot read it,
/// which is what the setting is for.
#[rocket::async_test]
async fn rolling_a_password_set_by_kegauth_logs_in_on_keg_auth() {
    let Some(shared) = Shared::new() else {
        return;
    };
    shared.kegauth_sets_password("bcrypt", "ann@example.com", "kegauth-set-1");
    assert!(shared
        .stored_hash("ann@example.com")
        .await
        .starts_with("$2b$12$"));
    assert!(shared.keg_auth_logs_in("ann@example.com", "kegauth-set-1"));
    assert!(!shared.keg_auth_logs_in("ann@example.com", "ann-pass-1"));

    shared.kegauth_sets_password("argon2id", "bob@example.com", "kegauth-set-2");
    assert!(shared
        .stored_hash("bob@example.com")
        .await
        .starts_with("$argon2id$"));
    assert!(!shared.keg_auth_logs_in("bob@example.com", "kegauth-set-2"));
}

/// keg-auth's users log in on kegauth (bcrypt and pbkdf2 hashes) and,
/// with `password_scheme = "bcrypt"`, still on keg-auth afterwards: kegauth
/// rehashes pbkdf2 to bcrypt and leaves bcrypt cost 12 alone. With the
/// default, the rehash to argon2id locks them out of keg-auth.
#[rocket::async_test]
async fn rolling_keg_auth_users_log_in_on_both() {
    let Some(shared) = Shared::new() else {
        return;
    };
    let ann_hash = shared.stored_hash("ann@example.com").await;
    let demo = Demo::start(
        common::demo_bin(),
        &shared.db.url(),
        &random_secret(),
        ",password_scheme=\"bcrypt\"",
    )
    .await;
    for (email, password) in [
        ("ann@example.com", "ann-pass-1"),
        ("eve@example.com", "eve-pass-1"),
    ] {
        let (_, status, _) = demo.login(email, password).await;
        assert_eq!(status, 303, "{email} logs in on kegauth");
        assert!(
            shared.keg_auth_logs_in(email, password),
            "{email} on keg-auth"
        );
    }
    assert_eq!(shared.stored_hash("ann@example.com").await, ann_hash);
    assert!(shared
        .stored_hash("eve@example.com")
        .await
        .starts_with("$2b$12$"));
    // keg-auth's token, used on kegauth in bcrypt mode, stays keg-auth's.
    assert_token::<SqliteDb>(&shared.db.url(), &shared.expected, "bcrypt").await;
    let token = shared.expected["token_user"]["api_token"]
        .as_str()
        .expect("token");
    assert!(shared.peer.accepts_token(&shared.sqlalchemy, token));
    drop(demo);

    let demo = Demo::start(common::demo_bin(), &shared.db.url(), &random_secret(), "").await;
    let (_, status, _) = demo.login("cat@example.com", "cat-pass-1").await;
    assert_eq!(status, 303);
    assert!(shared
        .stored_hash("cat@example.com")
        .await
        .starts_with("$argon2id$"));
    assert!(!shared.keg_auth_logs_in("cat@example.com", "cat-pass-1"));
    let _ = &demo.mail;
}
