//! What a build without one of kegauth's optional features does with what
//! needs it: a setting stops the launch with a message naming the feature,
//! a request answers 404; never a panic. Each test is compiled only in the
//! builds that lack its feature (CI runs them in the smallest build,
//! `--no-default-features --features sqlite`).

use crate::core::config::Config;
use rocket::figment::providers::{Format, Toml};
use rocket::figment::Figment;

/// Rocket's defaults with `toml` on top.
fn settings(toml: &str) -> Figment {
    Figment::from(rocket::Config::default()).merge(Toml::string(toml))
}

/// `toml`'s settings must stop the launch, naming `feature`.
#[allow(dead_code)]
fn refused_for(toml: &str, feature: &str) {
    let err = Config::from_figment(&settings(toml))
        .expect_err("a setting this build cannot honour stops the launch")
        .to_string();
    assert!(
        err.contains(&format!("kegauth's `{feature}` feature")),
        "{err}"
    );
}

#[test]
fn the_defaults_need_no_optional_feature() {
    let config = Config::from_figment(&settings("")).expect("the defaults launch");
    // Second factors are on by default only where the build has them.
    assert_eq!(config.two_factor_on(), cfg!(feature = "two-factor"));
    assert!(!config.passkeys_on());
    // Turning off what the build lacks is fine.
    Config::from_figment(&settings(
        "[kegauth]\ntwo_factor = \"off\"\npasskeys = false",
    ))
    .expect("off is always accepted");
}

#[cfg(not(feature = "mail"))]
#[test]
fn mail_settings_need_the_mail_feature() {
    refused_for("[kegauth.mail]\ntransport = \"file\"", "mail");
}

/// Without lettre, email login ids are checked by kegauth's own dot-atom
/// rule: what the admin form and `auth create-user` refuse stays refused.
#[cfg(not(feature = "mail"))]
#[test]
fn email_login_ids_are_still_checked_without_mail() {
    use crate::core::entity::LoginKind;
    use crate::services::accounts::{check_login_id, LoginIdProblem};
    for good in [
        "ann@example.com",
        "ann.b+tag@mail.example.co",
        "o'neil@example.org",
    ] {
        assert_eq!(check_login_id(LoginKind::Email, good), Ok(()), "{good}");
    }
    for bad in [
        "<script>alert(1)</script>@example.com",
        "ann",
        "ann@",
        "@example.com",
        "ann..b@example.com",
        ".ann@example.com",
        "ann@-example.com",
        "ann@example..com",
        "ann b@example.com",
        "ann@exa_mple.com",
    ] {
        assert_eq!(
            check_login_id(LoginKind::Email, bad),
            Err(LoginIdProblem::NotAnEmail),
            "{bad}"
        );
    }
}

#[cfg(not(feature = "jwt"))]
#[test]
fn jwt_settings_need_the_jwt_feature() {
    refused_for("[kegauth.jwt]\nexpire_mins = 5", "jwt");
}

#[cfg(not(feature = "ldap"))]
#[test]
fn ldap_servers_need_the_ldap_feature() {
    refused_for("[kegauth]\nldap_server_url = \"ldap://127.0.0.1\"", "ldap");
}

#[cfg(not(feature = "oauth"))]
#[test]
fn oauth_profiles_need_the_oauth_feature() {
    refused_for(
        "[[kegauth.oauth_profiles]]\nname = \"corp\"\nissuer = \"https://id.example.com\"\n\
         client_id = \"app\"",
        "oauth",
    );
}

#[cfg(not(feature = "two-factor"))]
#[test]
fn second_factors_need_the_two_factor_feature() {
    refused_for("[kegauth]\ntwo_factor = \"optional\"", "two-factor");
    refused_for("[kegauth]\ntwo_factor = \"required\"", "two-factor");
}

#[cfg(not(feature = "passkeys"))]
#[test]
fn passkeys_need_the_passkeys_feature() {
    refused_for("[kegauth]\npasskeys = true", "passkeys");
    refused_for(
        "[kegauth]\npasskeys = true\ntwo_factor = \"off\"",
        "passkeys",
    );
}

/// Launching a real app (SQLite).
#[cfg(feature = "sqlite")]
mod launched {
    use super::settings;
    use crate::ops::manager::{AuthManager, AuthManagerBuilder};
    use rocket::http::{ContentType, Status};
    use rocket::local::asynchronous::Client;
    use rocket_db_pools::Database;

    #[derive(Database)]
    #[database("main")]
    struct Db(sqlx::SqlitePool);

    #[derive(kegauth_macros::AuthEntity)]
    #[auth(user, table = "users", login = "email")]
    struct User {
        id: i64,
        email: String,
        #[auth(core)]
        core: crate::core::entity::UserCore,
    }

    /// A SQLite file that goes with the test.
    struct TempFile(std::path::PathBuf);

    impl Drop for TempFile {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
            }
        }
    }

    /// The app with `configure`'s AuthManager and `toml`'s settings, launched.
    async fn launch(
        file: &TempFile,
        toml: &str,
        configure: impl FnOnce(AuthManagerBuilder<Db, User>) -> AuthManagerBuilder<Db, User>,
    ) -> Result<Client, rocket::Error> {
        let url = format!("sqlite://{}?mode=rwc", file.0.display());
        let figment = settings(toml)
            .merge(("databases.main.url", url))
            .merge(("log_level", "off"));
        let manager = configure(AuthManager::<Db, User>::builder().create_schema(true)).build();
        let rocket = rocket::custom(figment)
            .attach(Db::init())
            .attach(manager)
            .mount("/", crate::web::views::routes())
            .register("/", crate::web::catchers::catchers());
        Client::tracked(rocket).await
    }

    fn temp_file() -> TempFile {
        TempFile(std::env::temp_dir().join(format!(
            "kegauth-features-{:x}.sqlite",
            rand::random::<u64>()
        )))
    }

    /// Whether `err` is the kegauth fairing refusing the launch.
    #[allow(dead_code)]
    fn kegauth_refused(err: &rocket::Error) -> bool {
        matches!(
            err.kind(),
            rocket::error::ErrorKind::FailedFairings(failed)
                if failed.iter().any(|f| f.name == "kegauth")
        )
    }

    #[cfg(not(feature = "ldap"))]
    #[rocket::async_test]
    async fn the_ldap_authenticator_needs_the_ldap_feature() {
        use crate::authn::authenticators::Authenticator;
        let file = temp_file();
        let Err(err) = launch(&file, "", |b| b.authenticator(Authenticator::Ldap)).await else {
            panic!("the LDAP authenticator must stop the launch");
        };
        assert!(kegauth_refused(&err), "{err:?}");
        // The control: the password authenticator launches.
        launch(&temp_file(), "", |b| b.authenticator(Authenticator::Keg))
            .await
            .expect("the password login launches");
    }

    #[cfg(not(feature = "mail"))]
    #[rocket::async_test]
    async fn mail_settings_stop_the_launch() {
        let file = temp_file();
        let Err(err) = launch(&file, "[kegauth.mail]\ntransport = \"file\"", |b| b).await else {
            panic!("[kegauth.mail] must stop the launch");
        };
        assert!(kegauth_refused(&err), "{err:?}");
    }

    /// Without mail the forgot, reset and verify pages are not there (404);
    /// without the xlsx feature a grid's Excel export answers 404 and its
    /// CSV export still works; without second factors their page is 404.
    #[rocket::async_test]
    async fn pages_of_missing_features_answer_404() {
        let file = temp_file();
        let client = launch(&file, "", |b| b).await.expect("the app launches");
        let store = client
            .rocket()
            .state::<crate::core::store::Store<sqlx::Sqlite, User>>()
            .expect("the store is managed");
        let mut admin = User {
            id: 0,
            email: "admin@example.com".into(),
            core: crate::core::entity::UserCore::new(),
        };
        admin.core.is_superuser = true;
        admin.core.is_verified = true;
        admin.core.password = Some(
            store
                .hasher()
                .hash("Correct-horse-battery-9")
                .await
                .expect("hash"),
        );
        store.insert_user(&mut admin).await.expect("insert");
        let page = client
            .get("/login")
            .dispatch()
            .await
            .into_string()
            .await
            .expect("the login page");
        let token = page
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the login form's CSRF token")
            .to_string();
        let r = client
            .post("/login")
            .header(ContentType::Form)
            .body(format!(
                "login_id=admin%40example.com&password=Correct-horse-battery-9&csrf_token={token}"
            ))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::SeeOther, "the superuser logs in");
        let status = |path: &'static str| {
            let client = &client;
            async move { client.get(path).dispatch().await.status() }
        };
        assert_eq!(status("/permissions?export_to=csv").await, Status::Ok);
        assert_eq!(
            status("/permissions?export_to=xlsx").await,
            if cfg!(feature = "xlsx") {
                Status::Ok
            } else {
                Status::NotFound
            }
        );
        if !cfg!(feature = "mail") {
            assert_eq!(status("/forgot-password").await, Status::NotFound);
        }
        if !cfg!(feature = "two-factor") {
            assert_eq!(status("/account/two-factor").await, Status::NotFound);
        }
    }
}
