//! The demo runs kegauth's reusable auth suite (`kegauth::testing`), as an
//! app's own tests would: a fresh SQLite file per test, mail kept in memory.

use crate::common;

use crate::common::{demo, TempDb};
use kegauth::mail::AuthMailManager;
use kegauth::testing::{CapturedMail, TestClient};
use rocket::http::Status;

async fn app() -> TestClient<demo::Db, demo::User> {
    let db = TempDb::new();
    let outbox = CapturedMail::new();
    let rocket = demo::rocket_with_mail(AuthMailManager::with_transport(outbox.clone()))
        .configure(rocket::Config::figment().merge(("databases.main.url", db.url())))
        // The database file goes when the app does.
        .manage(db);
    TestClient::new(rocket)
        .await
        .expect("the demo launches")
        .with_outbox(outbox)
}

kegauth::auth_test_suite!(app);

/// The helpers on the demo's own pages.
#[rocket::async_test]
async fn the_helpers_log_in_per_client_and_per_request() {
    let client = app().await;
    let make = client.factory().unwrap();
    let group = make
        .group("Readers")
        .permissions(&["permission1"])
        .create()
        .await
        .unwrap();
    let ann = make
        .user("ann@example.com")
        .groups(&[group.id])
        .create()
        .await
        .unwrap();
    let bob = make.user("bob@example.com").create().await.unwrap();
    // An undeclared token names itself, and nothing is written.
    let err = make
        .user("eve@example.com")
        .permissions(&["permission9"])
        .create()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`permission9`"), "{err}");
    let store = client.store().unwrap();
    assert!(store
        .user_by_login("eve@example.com")
        .await
        .unwrap()
        .is_none());
    assert!(make
        .group("Nope")
        .permissions(&["nope"])
        .create()
        .await
        .is_err());
    assert!(store.group_by_name("Nope").await.unwrap().is_none());

    // One request as bob, one as ann; the client stays anonymous.
    assert_eq!(
        client
            .dispatch_as(&bob, client.get("/secret2"))
            .await
            .status(),
        Status::Forbidden
    );
    assert_eq!(
        client
            .dispatch_as(&ann, client.get("/secret2"))
            .await
            .status(),
        Status::Ok
    );
    assert_eq!(client.session().session_key, None);
    let r = client.get("/secret1").dispatch().await;
    assert_eq!(r.status(), Status::Found, "anonymous again");

    // The whole client as bob; a request as ann leaves bob logged in.
    client.log_in(&bob).await.unwrap();
    let r = client.get("/secret1").dispatch().await;
    assert!(r
        .into_string()
        .await
        .unwrap()
        .contains(r#"<p id="secret">secret1 for bob@example.com</p>"#));
    let r = client.dispatch_as(&ann, client.get("/secret1")).await;
    assert!(r
        .into_string()
        .await
        .unwrap()
        .contains(r#"<p id="secret">secret1 for ann@example.com</p>"#));
    let r = client.get("/secret1").dispatch().await;
    assert!(r
        .into_string()
        .await
        .unwrap()
        .contains(r#"<p id="secret">secret1 for bob@example.com</p>"#));
    // A form as ann (her request's CSRF token); bob's session is untouched.
    let r = client.post_form_as(&ann, "/logout", &[]).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(
        client.session().session_key.as_deref(),
        Some(bob.core.session_key.as_str())
    );
    client.log_out().await.unwrap();
    assert_eq!(client.session().session_key, None);

    // ViewTestBase: a logged-in user with permissions.
    let carol = client.log_in_new_user(&["auth-manage"]).await.unwrap();
    assert_eq!(client.get("/manage").dispatch().await.status(), Status::Ok);
    assert!(carol.email.ends_with("@example.com"));
}

/// The captured mail carries the link the app would send.
#[rocket::async_test]
async fn captured_mail_gives_the_link_and_token() {
    let client = app().await;
    let make = client.factory().unwrap();
    let ann = make.user("ann@example.com").create().await.unwrap();
    let r = client
        .post_form("/forgot-password", &[("email", "ann@example.com")])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let outbox = client.outbox().unwrap();
    // Sent after the answer: wait for it.
    let mail = outbox.wait_last_to("ann@example.com").await.unwrap();
    assert_eq!(outbox.messages().len(), 1);
    assert!(mail.subject.contains("Password Reset"), "{}", mail.subject);
    let path = mail.link_path().unwrap();
    assert_eq!(
        path,
        format!("/reset-password/{}/{}", ann.id, mail.token().unwrap())
    );
    assert!(mail.html.as_deref().is_some_and(|h| h.contains(&path)));
    assert_eq!(client.get(path).dispatch().await.status(), Status::Ok);
}

/// The suite fails an app that does not behave: here the users list opens
/// to any logged-in user.
#[rocket::async_test]
async fn the_suite_fails_an_app_that_leaves_the_users_list_open() {
    use kegauth::admin::Section;
    use kegauth::crud::Action;
    let run = tokio::spawn(async {
        let db = TempDb::new();
        let rocket = common::web::rocket_for::<common::web::SqliteDb>(
            &db.url(),
            rocket::Config::figment(),
            |b| b.admin_requirement(Section::Users, Action::List, kegauth::Requirement::User),
        )
        .manage(db);
        let client: TestClient<common::web::SqliteDb, demo::User> =
            TestClient::new(rocket).await.expect("launch");
        kegauth::testing::suite::admin_pages(&client).await
    });
    let failure = run.await.expect_err("the suite fails");
    let message = failure.into_panic();
    let message = message
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(
        message.contains("GET /users without auth-manage"),
        "{message}"
    );
}
