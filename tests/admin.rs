//! The admin pages (users, groups, bundles, permissions) through HTTP, on
//! SQLite and PostgreSQL: grids (sort, filter, pages, CSV export), add, edit,
//! delete, per-action requirements, and the rules around them.

use crate::common;

use crate::common::smtp::SmtpServer;
use crate::common::web::{
    app, app_configured, body, location, mail_app_with, rocket_for, App, TestBackend,
};
use crate::common::User;
use kegauth::admin::Section;
use kegauth::crud::Action;
use kegauth::entity::Group;
use kegauth::{Backend, Link};
use rocket::http::{ContentType, Cookie, Status};
use rocket::local::asynchronous::Client;

on_sqlite_and_postgres!(
    the_users_grid_sorts_filters_pages_and_exports,
    users_are_added_edited_and_deleted,
    bad_user_forms_show_field_errors_and_store_nothing,
    groups_and_bundles_are_managed_and_permissions_listed,
    unknown_records_are_404,
    each_action_has_its_own_requirement,
    nobody_deletes_their_own_account,
    a_delete_blocked_by_a_reference_removes_nothing,
    names_are_escaped,
    editing_a_users_groups_logs_them_out,
    only_superusers_touch_superusers,
    admins_grant_only_what_they_hold,
    welcome_and_resend_verification_mail,
    a_failed_welcome_mail_stores_no_user,
    posts_need_the_csrf_token,
    apps_reuse_the_crud_view_for_their_own_records,
    every_grid_filters_sorts_and_exports,
);

/// A user with `auth-manage`, logged in.
async fn admin<DB: Backend>(app: &App<DB>) -> User {
    app.login_with("admin@example.com", &["auth-manage"]).await
}

/// A user with `auth-manage` and `tokens`, logged in.
async fn admin_holding<DB: Backend>(app: &App<DB>, tokens: &[&str]) -> User {
    let mut all = vec!["auth-manage"];
    all.extend_from_slice(tokens);
    app.login_with("admin@example.com", &all).await
}

async fn page<DB: Backend>(app: &App<DB>, path: &str) -> (Status, String) {
    let r = app.browse(path).await;
    (r.status(), body(r).await)
}

/// The emails in a users grid, in order.
fn emails_in(html: &str) -> Vec<String> {
    html.split("<td>")
        .skip(1)
        .filter_map(|c| c.split("</td>").next())
        .filter(|c| c.contains('@'))
        .map(str::to_string)
        .collect()
}

async fn group_named<DB: Backend>(app: &App<DB>, name: &str) -> Group {
    let mut g = Group {
        id: 0,
        name: name.into(),
    };
    app.store.insert_group(&mut g).await.unwrap();
    g
}

async fn the_users_grid_sorts_filters_pages_and_exports<B: TestBackend>() {
    let Some(app) = app::<B>().await else { return };
    admin(&app).await;
    for i in 0..30 {
        let mut u = User::new(&format!("u{i:02}@example.com"));
        if i == 7 {
            u.name = Some("=HYPERLINK(\"http://evil\")".into());
        }
        app.store.insert_user(&mut u).await.unwrap();
    }
    // 31 users: two pages of 25, sorted by id (admin first) by default.
    let (status, html) = page(&app, "/users").await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("Page 1 of 2 (31 total)"), "{html}");
    assert_eq!(emails_in(&html).len(), 25);
    assert_eq!(emails_in(&html)[0], "admin@example.com");
    assert!(html.contains("href=\"/users?page=2\""));
    let (_, html) = page(&app, "/users?page=2").await;
    assert_eq!(
        emails_in(&html),
        ["u24", "u25", "u26", "u27", "u28", "u29"].map(|u| format!("{u}@example.com"))
    );
    // Sorted by email, descending; the heading link toggles the direction.
    let (_, html) = page(&app, "/users?sort=-email").await;
    assert_eq!(emails_in(&html)[0], "u29@example.com");
    assert!(html.contains("href=\"/users?sort=email\""), "{html}");
    let (_, html) = page(&app, "/users?sort=email").await;
    assert_eq!(emails_in(&html)[0], "admin@example.com");
    assert_eq!(emails_in(&html)[1], "u00@example.com");
    // Filtered (case-insensitive, `_` literal); page links keep the filter and sort.
    let (_, html) = page(&app, "/users?filter=U1&sort=-email").await;
    assert!(html.contains("(10 total)"), "{html}");
    assert_eq!(emails_in(&html)[0], "u19@example.com");
    let (_, html) = page(&app, "/users?filter=u_1").await;
    assert!(html.contains("(0 total)") && html.contains("No records found."));
    // A sort key that is not a column, and a bad page, are ignored.
    let (status, html) = page(&app, "/users?sort=password&page=x").await;
    assert_eq!(status, Status::Ok);
    assert_eq!(emails_in(&html)[0], "admin@example.com");
    // CSV export of every matching row, formulas defused.
    let r = app
        .client
        .get("/users?export_to=csv&sort=email")
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(r.content_type(), Some(ContentType::CSV));
    assert!(r
        .headers()
        .get_one("Content-Disposition")
        .unwrap()
        .contains("users.csv"));
    let csv = r.into_string().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 32, "{csv}");
    assert_eq!(lines[0], "Email,Name,Enabled,Superuser,Verified,Last Login");
    assert!(lines[1].starts_with("admin@example.com,,Yes,No,Yes,"));
    assert!(
        csv.contains("u07@example.com,\"'=HYPERLINK(\"\"http://evil\"\")\",Yes,No,No,"),
        "{csv}"
    );
}

async fn users_are_added_edited_and_deleted<B: TestBackend>() {
    let Some(app) = app::<B>().await else { return };
    // An admin grants only what they hold (admins_grant_only_what_they_hold).
    admin_holding(&app, &["permission1"]).await;
    let staff = group_named(&app, "staff").await;
    let p1 = app.store.permission_ids(&["permission1"]).await.unwrap()[0];
    let (status, html) = page(&app, "/users/add").await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("name=\"email\"") && html.contains("name=\"group_ids\""));
    // No mail manager: the form sets a password; no superuser switch for a non-superuser.
    assert!(html.contains("name=\"password\"") && !html.contains("is_superuser"));
    let r = app
        .submit(
            "/users/add",
            &[
                ("email", " bob@example.com "),
                ("name", "Bob"),
                ("is_enabled", "true"),
                ("group_ids", &staff.id.to_string()),
                ("permission_ids", &p1.to_string()),
                ("password", "a long password for bob"),
                ("confirm", "a long password for bob"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(location(&r), "/users");
    let (_, html) = page(&app, "/users").await;
    assert!(html.contains("Successfully created User"), "{html}");
    let bob = app
        .store
        .user_by_login("bob@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.name.as_deref(), Some("Bob"));
    assert!(bob.core.is_enabled && bob.core.is_verified && !bob.core.is_superuser);
    assert_eq!(
        app.store.linked(Link::UserGroups, bob.id).await.unwrap(),
        [staff.id]
    );
    assert_eq!(
        app.store
            .linked(Link::UserPermissions, bob.id)
            .await
            .unwrap(),
        [p1]
    );
    assert!(
        app.store
            .verify_password(&bob, "a long password for bob")
            .await
            .unwrap()
            .ok
    );

    // The edit form shows the current values; saving changes them.
    let edit = format!("/users/{}/edit", bob.id);
    let (status, html) = page(&app, &edit).await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("value=\"Bob\""), "{html}");
    assert!(html.contains(&format!("value=\"{}\" selected", staff.id)));
    let r = app
        .submit(
            &edit,
            &[
                ("email", "bob@example.com"),
                ("name", "Robert"),
                ("disabled_utc", "2030-01-02T03:04"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let bob = app.store.user(bob.id).await.unwrap().unwrap();
    assert_eq!(bob.name.as_deref(), Some("Robert"));
    assert!(!bob.core.is_enabled, "the unchecked box disables");
    assert_eq!(
        bob.core.disabled_utc.unwrap().to_string(),
        "2030-01-02 03:04:00"
    );
    assert!(app
        .store
        .linked(Link::UserGroups, bob.id)
        .await
        .unwrap()
        .is_empty());
    assert!(
        app.store
            .verify_password(&bob, "a long password for bob")
            .await
            .unwrap()
            .ok
    );
    assert!(page(&app, "/users")
        .await
        .1
        .contains("Successfully modified User"));

    // Delete: a confirmation page, then a POST.
    let delete = format!("/users/{}/delete", bob.id);
    let (status, html) = page(&app, &delete).await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("bob@example.com"));
    let r = app.submit(&delete, &[]).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert!(app.store.user(bob.id).await.unwrap().is_none());
    assert!(page(&app, "/users")
        .await
        .1
        .contains("Successfully removed User"));
}

async fn bad_user_forms_show_field_errors_and_store_nothing<B: TestBackend>() {
    let Some(app) = app::<B>().await else { return };
    admin(&app).await;
    app.user("taken@example.com", None).await;
    let count = || async { app.store.users().await.unwrap().len() };
    let before = count().await;
    let cases: [(&[(&str, &str)], &str); 9] = [
        (
            &[("email", "  "), ("name", "Kept")],
            "This field is required.",
        ),
        (
            &[("email", "TAKEN@example.com")],
            "This value is already in use.",
        ),
        (&[("email", "not an address")], "Invalid email address."),
        (
            &[("email", "<script>alert(1)</script>@example.com")],
            "Invalid email address.",
        ),
        (
            &[("email", "ann\u{7}@example.com")],
            "The login id contains a control character",
        ),
        (
            &[("email", "new@example.com"), ("group_ids", "999")],
            "`999` is not a valid choice.",
        ),
        (
            &[
                ("email", "new@example.com"),
                ("password", "long enough pw"),
                ("confirm", "other"),
            ],
            "Passwords must match.",
        ),
        // Row 5: common passwords and ones holding the login name.
        (
            &[
                ("email", "new@example.com"),
                ("password", "password1234"),
                ("confirm", "password1234"),
            ],
            "Password is too easy to guess.",
        ),
        (
            &[
                ("email", "victoria@example.com"),
                ("password", "Victoria in the rain"),
                ("confirm", "Victoria in the rain"),
            ],
            "Password may not contain username.",
        ),
    ];
    for (fields, message) in cases {
        let r = app.submit("/users/add", fields).await;
        assert_eq!(r.status(), Status::Ok, "{message}");
        let html = body(r).await;
        assert!(html.contains(message), "{message}: {html}");
        assert!(html.contains("The form has errors, please see below."));
        assert_eq!(count().await, before, "{message}");
    }
    // What was typed comes back (never the password).
    let r = app
        .submit(
            "/users/add",
            &[
                ("email", ""),
                ("name", "Kept"),
                ("password", "secret-ish pw"),
                ("confirm", "x"),
            ],
        )
        .await;
    let html = body(r).await;
    assert!(html.contains("value=\"Kept\"") && !html.contains("secret-ish"));
    // The password policy applies.
    let r = app
        .submit(
            "/users/add",
            &[
                ("email", "short@example.com"),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert!(body(r).await.contains("at least 8"));
    assert_eq!(count().await, before);
}

async fn groups_and_bundles_are_managed_and_permissions_listed<B: TestBackend>() {
    let Some(app) = app::<B>().await else { return };
    admin_holding(&app, &["permission1", "permission2"]).await;
    let ids = app
        .store
        .permission_ids(&["permission1", "permission2"])
        .await
        .unwrap();
    // A bundle with two permissions.
    let r = app
        .submit(
            "/bundles/add",
            &[
                ("name", "Reporting"),
                ("permission_ids", &ids[0].to_string()),
                ("permission_ids", &ids[1].to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let bundle = app
        .store
        .bundle_by_name("Reporting")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.store.bundle_permissions(bundle.id).await.unwrap().len(),
        2
    );
    // A group with the bundle; a second group with the same name is a field error.
    let r = app
        .submit(
            "/groups/add",
            &[("name", "Analysts"), ("bundle_ids", &bundle.id.to_string())],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let group = app.store.group_by_name("Analysts").await.unwrap().unwrap();
    assert!(app
        .store
        .group_permissions(group.id)
        .await
        .unwrap()
        .contains("permission2"));
    let r = app.submit("/groups/add", &[("name", "Analysts")]).await;
    assert_eq!(r.status(), Status::Ok);
    assert!(body(r).await.contains("This value is already in use."));
    assert_eq!(app.store.groups().await.unwrap().len(), 1);
    // Rename.
    let edit = format!("/groups/{}/edit", group.id);
    let r = app.submit(&edit, &[("name", "Analysts 2")]).await;
    assert_eq!(r.status(), Status::SeeOther);
    let (_, html) = page(&app, "/groups").await;
    assert!(html.contains("Analysts 2"));
    assert!(app
        .store
        .linked(Link::GroupBundles, group.id)
        .await
        .unwrap()
        .is_empty());
    // Delete both.
    for path in [
        format!("/groups/{}/delete", group.id),
        format!("/bundles/{}/delete", bundle.id),
    ] {
        let r = app.submit(&path, &[]).await;
        assert_eq!(r.status(), Status::SeeOther, "{path}");
    }
    assert!(app.store.groups().await.unwrap().is_empty());
    assert!(app.store.bundles().await.unwrap().is_empty());
    // Permissions: a list with descriptions, nothing to add or edit.
    let (status, html) = page(&app, "/permissions?sort=-token").await;
    assert_eq!(status, Status::Ok);
    let p3 = html.find("permission3").unwrap();
    assert!(p3 < html.find("permission1").unwrap());
    assert!(html.contains("access the Baz area"));
    assert!(!html.contains("Create Permission") && !html.contains("/edit"));
    assert_eq!(app.status("/permissions/add").await, Status::NotFound);
}

async fn unknown_records_are_404<B: TestBackend>() {
    let Some(app) = app::<B>().await else { return };
    admin(&app).await;
    for path in [
        "/users/999/edit",
        "/users/999/delete",
        "/users/abc/edit",
        "/groups/999/edit",
        "/bundles/999/delete",
    ] {
        assert_eq!(app.status(path).await, Status::NotFound, "{path}");
    }
    let r = app.submit("/groups/999/edit", &[("name", "x")]).await;
    assert_eq!(r.status(), Status::NotFound);
    let r = app.submit("/users/999/delete", &[]).await;
    assert_eq!(r.status(), Status::NotFound);
}

async fn each_action_has_its_own_requirement<B: TestBackend>() {
    let Some(app) = app_configured::<B>(
        rocket::Config::figment(),
        |b| b.admin_requirement(Section::Users, Action::Delete, "permission1"),
        |r| r,
    )
    .await
    else {
        return;
    };
    // Anonymous: to the login page.
    let r = app.browse("/users").await;
    assert_eq!(r.status(), Status::Found);
    assert_eq!(location(&r), "/login?next=%2Fusers");
    // Without auth-manage: 403 everywhere.
    let plain = app.login_with("plain@example.com", &["permission1"]).await;
    for path in ["/users", "/users/add", "/groups", "/permissions"] {
        assert_eq!(app.status(path).await, Status::Forbidden, "{path}");
    }
    // auth-manage without permission1: no delete links, and deleting is 403.
    admin(&app).await;
    let (_, html) = page(&app, "/users").await;
    assert!(html.contains("class=\"edit-link\"") && !html.contains("class=\"delete-link\""));
    let delete = format!("/users/{}/delete", plain.id);
    assert_eq!(app.status(&delete).await, Status::Forbidden);
    let r = app.submit(&delete, &[]).await;
    assert_eq!(r.status(), Status::Forbidden);
    assert!(app.store.user(plain.id).await.unwrap().is_some());
    // With both, the link shows and the delete works.
    app.login_with("both@example.com", &["auth-manage", "permission1"])
        .await;
    let (_, html) = page(&app, "/users").await;
    assert!(html.contains(&format!("href=\"{delete}\"")));
    let r = app.submit(&delete, &[]).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert!(app.store.user(plain.id).await.unwrap().is_none());
}

async fn nobody_deletes_their_own_account<B: TestBackend>() {
    let Some(app) = app::<B>().await else { return };
    let me = admin(&app).await;
    let delete = format!("/users/{}/delete", me.id);
    let r = app.submit(&delete, &[]).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert!(page(&app, "/users")
        .await
        .1
        .contains("You cannot delete your own user account."));
    assert!(app.store.user(me.id).await.unwrap().is_some());
}

async fn a_delete_blocked_by_a_reference_removes_nothing<B: TestBackend>() {
    let Some(app) = app::<B>().await else { return };
    admin(&app).await;
    let carl = app.user("carl@example.com", None).await;
    let staff = group_named(&app, "staff").await;
    app.store
        .add_link(Link::UserGroups, carl.id, staff.id)
        .await
        .unwrap();
    // The app's own table refers to users.
    let notes = "CREATE TABLE notes (id INTEGER PRIMARY KEY, \
                 user_id INTEGER NOT NULL REFERENCES users(id))";
    let pool = app.store.pool();
    let mut conn = pool.acquire().await.unwrap();
    <<B::Db as kegauth::AuthDb>::Backend as Backend>::execute(&mut conn, notes, Vec::new())
        .await
        .unwrap();
    let insert = format!("INSERT INTO notes (id, user_id) VALUES (1, {})", carl.id);
    <<B::Db as kegauth::AuthDb>::Backend as Backend>::execute(&mut conn, &insert, Vec::new())
        .await
        .unwrap();
    drop(conn);
    let delete = format!("/users/{}/delete", carl.id);
    let r = app.submit(&delete, &[]).await;
    assert_eq!(r.status(), Status::SeeOther);
    let (_, html) = page(&app, "/users").await;
    assert!(
        html.contains("Unable to delete carl@example.com. It may be referenced by other items."),
        "{html}"
    );
    assert!(html.contains("flash-warning"));
    assert!(app.store.user(carl.id).await.unwrap().is_some());
    assert_eq!(
        app.store.linked(Link::UserGroups, carl.id).await.unwrap(),
        [staff.id],
        "the memberships are kept too"
    );
}

async fn names_are_escaped<B: TestBackend>() {
    let Some(app) = app::<B>().await else { return };
    admin(&app).await;
    group_named(&app, "<script>alert(1)</script>").await;
    let r = app.client.get("/groups").dispatch().await;
    let raw = r.into_string().await.unwrap();
    assert!(
        raw.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{raw}"
    );
    assert!(!raw.contains("<script>alert"));
    let r = app.client.get("/users/add").dispatch().await;
    let raw = r.into_string().await.unwrap();
    assert!(!raw.contains("<script>alert"));
}

/// The client's session cookie (decrypted).
fn session_cookie<DB: Backend>(app: &App<DB>) -> Cookie<'static> {
    app.client
        .cookies()
        .get_private("__Host-kegauth")
        .expect("a session cookie")
}

/// Who a second client holding `cookie` is.
async fn who_with<B: TestBackend, DB: Backend>(app: &App<DB>, cookie: &Cookie<'static>) -> String {
    let other = Client::untracked(rocket_for::<B::Db>(
        &app.url,
        rocket::Config::figment(),
        |b| b,
    ))
    .await
    .unwrap();
    let r = other
        .get("/whoami")
        .private_cookie(cookie.clone())
        .dispatch()
        .await;
    body(r).await
}

async fn editing_a_users_groups_logs_them_out<B: TestBackend>() {
    let Some(app) = app::<B>().await else { return };
    let staff = group_named(&app, "staff").await;
    let dora = app.user("dora@example.com", None).await;
    app.log_in_as(&dora).await;
    let doras_cookie = session_cookie(&app);
    assert_eq!(
        who_with::<B, _>(&app, &doras_cookie).await,
        "Logged in as dora@example.com"
    );

    let me = admin(&app).await;
    let edit = format!("/users/{}/edit", dora.id);
    let r = app
        .submit(
            &edit,
            &[
                ("email", "dora@example.com"),
                ("is_enabled", "true"),
                ("group_ids", &staff.id.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(who_with::<B, _>(&app, &doras_cookie).await, "Not logged in");

    // A viewer who changes their own rights stays logged in.
    let own = format!("/users/{}/edit", me.id);
    let r = app
        .submit(
            &own,
            &[
                ("email", "admin@example.com"),
                ("is_enabled", "true"),
                ("group_ids", &staff.id.to_string()),
                (
                    "permission_ids",
                    &app.store.permission_ids(&["auth-manage"]).await.unwrap()[0].to_string(),
                ),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(app.who().await, "Logged in as admin@example.com");
    assert_eq!(app.status("/users").await, Status::Ok);
    assert_eq!(
        app.store.linked(Link::UserGroups, me.id).await.unwrap(),
        [staff.id]
    );
}

/// The error shown on a re-rendered form, if any.
fn cannot_grant(html: &str) -> bool {
    html.contains("You cannot grant permissions you do not hold")
}

/// An admin holding `auth-manage` and `permission1` (not `permission2`)
/// grants, directly or through a bundle or group, only what they hold: any
/// other addition is a form error and nothing is stored. What a record
/// already has stays when they edit it. SECURITY-CHECKLIST row 40.
async fn admins_grant_only_what_they_hold<B: TestBackend>() {
    let Some(app) = app::<B>().await else { return };
    let f = kegauth::testing::Factory::new(app.store.clone());
    let ids = app
        .store
        .permission_ids(&["permission1", "permission2"])
        .await
        .unwrap();
    let (p1, p2) = (ids[0].to_string(), ids[1].to_string());
    let held_bundle = f
        .bundle("held")
        .permissions(&["permission1"])
        .create()
        .await
        .unwrap();
    let strong = f
        .bundle("strong")
        .permissions(&["permission2"])
        .create()
        .await
        .unwrap();
    let strong_group = f
        .group("strong")
        .bundles(&[strong.id])
        .create()
        .await
        .unwrap();
    let dora = f
        .user("dora@example.com")
        .permissions(&["permission2"])
        .create()
        .await
        .unwrap();
    app.login_with("admin@example.com", &["auth-manage", "permission1"])
        .await;
    let dora_edit = format!("/users/{}/edit", dora.id);
    let dora_fields = |extra: &[(&'static str, &str)]| {
        let mut all = vec![
            ("email", "dora@example.com".to_string()),
            ("is_enabled", "true".into()),
        ];
        all.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        all
    };
    let strong_id = strong.id.to_string();
    let group_id = strong_group.id.to_string();
    let refusals: Vec<(String, Vec<(&str, String)>)> = vec![
        // A permission they lack, to a new user and to an existing one.
        (
            "/users/add".into(),
            vec![
                ("email", "new@example.com".into()),
                ("is_enabled", "true".into()),
                ("permission_ids", p2.clone()),
            ],
        ),
        (
            dora_edit.clone(),
            dora_fields(&[("permission_ids", &p1), ("bundle_ids", &strong_id)]),
        ),
        (dora_edit.clone(), dora_fields(&[("group_ids", &group_id)])),
        // The same through a group's and a bundle's links.
        (
            "/groups/add".into(),
            vec![("name", "sneaky".into()), ("permission_ids", p2.clone())],
        ),
        (
            "/groups/add".into(),
            vec![("name", "sneaky".into()), ("bundle_ids", strong_id.clone())],
        ),
        (
            format!("/bundles/{}/edit", held_bundle.id),
            vec![
                ("name", "held".into()),
                ("permission_ids", p1.clone()),
                ("permission_ids", p2.clone()),
            ],
        ),
    ];
    for (path, fields) in &refusals {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.submit(path, &fields).await;
        assert_eq!(r.status(), Status::Ok, "{path} {fields:?} is re-rendered");
        assert!(cannot_grant(&body(r).await), "{path} {fields:?}");
    }
    assert!(app
        .store
        .user_by_login("new@example.com")
        .await
        .unwrap()
        .is_none());
    assert!(app.store.group_by_name("sneaky").await.unwrap().is_none());
    assert_eq!(
        app.store
            .bundle_permissions(held_bundle.id)
            .await
            .unwrap()
            .len(),
        1
    );
    let dora_now = app.store.user(dora.id).await.unwrap().unwrap();
    assert_eq!(
        app.store
            .user_permissions(&dora_now)
            .await
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        ["permission2"]
    );
    // Edits within their own rights are saved, and dora keeps permission2,
    // which the admin could not have granted.
    let r = app
        .submit(
            &dora_edit,
            &dora_fields(&[
                ("permission_ids", &p1),
                ("permission_ids", &p2),
                ("bundle_ids", &held_bundle.id.to_string()),
            ])
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let dora_now = app.store.user(dora.id).await.unwrap().unwrap();
    assert_eq!(
        app.store
            .user_permissions(&dora_now)
            .await
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        ["permission1", "permission2"]
    );
    // A superuser grants anything.
    app.login_superuser("root@example.com").await;
    let r = app
        .submit(
            "/groups/add",
            &[
                ("name", "sneaky"),
                ("permission_ids", &p2),
                ("bundle_ids", &strong_id),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert!(app.store.group_by_name("sneaky").await.unwrap().is_some());
}

async fn only_superusers_touch_superusers<B: TestBackend>() {
    let Some(app) = app::<B>().await else { return };
    let mut root = app.user("root@example.com", None).await;
    root.core.is_superuser = true;
    app.store.update_user(&mut root).await.unwrap();
    // A plain admin: no superuser switch, and the superuser is off limits.
    admin(&app).await;
    let edit = format!("/users/{}/edit", root.id);
    assert_eq!(app.status(&edit).await, Status::Forbidden);
    let r = app.submit(&edit, &[("email", "x@example.com")]).await;
    assert_eq!(r.status(), Status::Forbidden);
    let delete = format!("/users/{}/delete", root.id);
    let r = app.submit(&delete, &[]).await;
    assert_eq!(r.status(), Status::Forbidden);
    let r = app
        .submit(
            "/users/add",
            &[
                ("email", "sneaky@example.com"),
                ("is_enabled", "true"),
                ("is_superuser", "true"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let sneaky = app
        .store
        .user_by_login("sneaky@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(!sneaky.core.is_superuser);
    // The superuser (without auth-manage) sees and sets the switch.
    let root = app.store.user(root.id).await.unwrap().unwrap();
    app.log_in_as(&root).await;
    let sneaky_edit = format!("/users/{}/edit", sneaky.id);
    let (status, html) = page(&app, &sneaky_edit).await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("name=\"is_superuser\""));
    let r = app
        .submit(
            &sneaky_edit,
            &[
                ("email", "sneaky@example.com"),
                ("is_enabled", "true"),
                ("is_superuser", "true"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert!(
        app.store
            .user(sneaky.id)
            .await
            .unwrap()
            .unwrap()
            .core
            .is_superuser
    );
}

async fn welcome_and_resend_verification_mail<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let Some(app) = mail_app_with::<B>(smtp.figment()).await else {
        return;
    };
    admin(&app).await;
    let (_, html) = page(&app, "/users/add").await;
    assert!(html.contains("name=\"send_welcome\"") && !html.contains("name=\"password\""));
    let r = app
        .submit(
            "/users/add",
            &[
                ("email", "eve@example.com"),
                ("is_enabled", "true"),
                ("send_welcome", "true"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let mail = smtp.wait_for(1).await;
    assert_eq!(mail[0].to, ["eve@example.com"]);
    assert!(mail[0].link().contains("/verify-account/"));
    let eve = app
        .store
        .user_by_login("eve@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(!eve.core.is_verified);
    // Unverified: the grid offers to resend.
    let (_, html) = page(&app, "/users").await;
    let resend = format!("/users/{}/resend-verification", eve.id);
    assert!(html.contains(&resend), "{html}");
    let r = app.submit(&resend, &[]).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(smtp.wait_for(2).await[1].to, ["eve@example.com"]);
    assert!(page(&app, "/users")
        .await
        .1
        .contains("Verification email has been sent"));
    // Without the box, no mail.
    let r = app
        .submit(
            "/users/add",
            &[("email", "fay@example.com"), ("is_enabled", "true")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.received().len(), 2);
}

async fn a_failed_welcome_mail_stores_no_user<B: TestBackend>() {
    let figment = SmtpServer::unreachable_figment();
    let Some(app) = mail_app_with::<B>(figment).await else {
        return;
    };
    admin(&app).await;
    let r = app
        .submit(
            "/users/add",
            &[
                ("email", "gil@example.com"),
                ("is_enabled", "true"),
                ("send_welcome", "true"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::Ok);
    let html = body(r).await;
    assert!(
        html.contains("The welcome email could not be sent"),
        "{html}"
    );
    assert!(html.contains("value=\"gil@example.com\""));
    assert!(app
        .store
        .user_by_login("gil@example.com")
        .await
        .unwrap()
        .is_none());
}

async fn posts_need_the_csrf_token<B: TestBackend>() {
    let Some(app) = app::<B>().await else { return };
    admin(&app).await;
    let victim = app.user("victim@example.com", None).await;
    let r = app
        .post_form(&format!("/users/{}/delete", victim.id), &[])
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    let r = app
        .post_form("/groups/add", &[("name", "x"), ("csrf_token", "forged")])
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    assert!(app.store.user(victim.id).await.unwrap().is_some());
    assert!(app.store.groups().await.unwrap().is_empty());
}

/// An app's own records: a fixed list of colours, deletable never.
struct Colours;

impl kegauth::crud::CrudSource for Colours {
    fn names(&self) -> (&str, &str) {
        ("Colour", "Colours")
    }
    fn columns(&self) -> Vec<kegauth::crud::GridColumn> {
        vec![kegauth::crud::GridColumn::new("name", "Name")]
    }
    fn list<'a>(
        &'a self,
        _cx: &'a kegauth::crud::CrudCx<'a>,
        query: &'a kegauth::crud::GridQuery,
    ) -> kegauth::crud::BoxFuture<'a, kegauth::Result<kegauth::crud::GridPage>> {
        Box::pin(async move {
            let mut rows: Vec<_> = ["red", "green", "blue"]
                .iter()
                .enumerate()
                .filter(|(_, n)| n.contains(query.filter.as_str()))
                .map(|(i, n)| kegauth::crud::GridRow::new(i as i64 + 1, vec![n.to_string()]))
                .collect();
            if query.descending {
                rows.reverse();
            }
            Ok(kegauth::crud::GridPage {
                total: rows.len() as u64,
                rows,
            })
        })
    }
    fn label<'a>(
        &'a self,
        _cx: &'a kegauth::crud::CrudCx<'a>,
        id: i64,
    ) -> kegauth::crud::BoxFuture<'a, kegauth::Result<kegauth::crud::Found<String>>> {
        Box::pin(async move { Ok(kegauth::crud::Found::Yes(format!("colour {id}"))) })
    }
    fn delete<'a>(
        &'a self,
        _cx: &'a kegauth::crud::CrudCx<'a>,
        _id: i64,
    ) -> kegauth::crud::BoxFuture<'a, kegauth::Result<kegauth::crud::Found<kegauth::crud::Deleted>>>
    {
        Box::pin(async {
            Ok(kegauth::crud::Found::Yes(kegauth::crud::Deleted::Refused(
                "Colours are forever.".into(),
            )))
        })
    }
}

fn mount_colours(rocket: rocket::Rocket<rocket::Build>) -> rocket::Rocket<rocket::Build> {
    let view = kegauth::crud::CrudView::new("/colours", Colours)
        .actions(&[Action::List, Action::Delete])
        .require(Action::List, "permission1")
        .require(Action::Delete, "permission2");
    rocket.mount("/app", view.routes())
}

async fn apps_reuse_the_crud_view_for_their_own_records<B: TestBackend>() {
    let Some(app) = app_configured::<B>(rocket::Config::figment(), |b| b, mount_colours).await
    else {
        return;
    };
    app.login_with("reader@example.com", &["permission2"]).await;
    assert_eq!(app.status("/app/colours").await, Status::Forbidden);
    app.login_with("viewer@example.com", &["permission1"]).await;
    let (status, html) = page(&app, "/app/colours?filter=e&sort=-name").await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("<h1>Colours</h1>"), "{html}");
    // Links carry the mount point; no add, edit or delete for this viewer.
    assert!(
        html.contains("href=\"/app/colours?sort=name&filter=e\""),
        "{html}"
    );
    assert!(html.find("blue").unwrap() < html.find("red").unwrap());
    assert!(!html.contains("Create Colour") && !html.contains("delete-link"));
    assert_eq!(app.status("/app/colours/add").await, Status::NotFound);
    assert_eq!(app.status("/app/colours/1/delete").await, Status::Forbidden);
    app.login_with("deleter@example.com", &["permission1", "permission2"])
        .await;
    let (_, html) = page(&app, "/app/colours").await;
    assert!(html.contains("href=\"/app/colours/1/delete\""));
    let r = app.submit("/app/colours/1/delete", &[]).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(location(&r), "/app/colours");
    assert!(page(&app, "/app/colours")
        .await
        .1
        .contains("Colours are forever."));
}

#[rocket::async_test]
async fn an_undeclared_admin_requirement_stops_the_launch() {
    let (url, _cleanup) = <common::web::OnSqlite as TestBackend>::database()
        .await
        .unwrap();
    let rocket = rocket_for::<common::web::SqliteDb>(&url, rocket::Config::figment(), |b| {
        b.admin_requirement(Section::Groups, Action::Add, "no-such-permission")
    });
    let err = rocket.ignite().await.expect_err("the launch stops");
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f.iter().any(|i| i.name == "kegauth")),
        "{err}"
    );
}

async fn every_grid_filters_sorts_and_exports<B: TestBackend>() {
    let Some(app) = app::<B>().await else { return };
    admin(&app).await;
    for name in ["north", "south", "east", "northeast"] {
        group_named(&app, name).await;
        let mut b = kegauth::entity::Bundle {
            id: 0,
            name: format!("b-{name}"),
        };
        app.store.insert_bundle(&mut b).await.unwrap();
    }
    for (path, filter, first, count, header) in [
        ("/groups", "north", "northeast", 2, "Name"),
        ("/bundles", "NORTH", "b-northeast", 2, "Name"),
        (
            "/permissions",
            "ACCESS",
            "permission3",
            3,
            "Name,Description",
        ),
    ] {
        let (status, html) = page(&app, &format!("{path}?filter={filter}&sort=-name")).await;
        assert_eq!(status, Status::Ok, "{path}");
        let (status, html_tok) = page(&app, &format!("{path}?filter={filter}&sort=-token")).await;
        assert_eq!(status, Status::Ok, "{path}");
        let html = if path == "/permissions" {
            html_tok
        } else {
            html
        };
        assert!(html.contains(&format!("({count} total)")), "{path}: {html}");
        let first_cell = html
            .split("<td>")
            .nth(1)
            .unwrap()
            .split("</td>")
            .next()
            .unwrap();
        assert_eq!(first_cell, first, "{path}");
        let sort = if path == "/permissions" {
            "-token"
        } else {
            "-name"
        };
        let r = app
            .client
            .get(format!("{path}?export_to=csv&filter={filter}&sort={sort}"))
            .dispatch()
            .await;
        assert_eq!(r.content_type(), Some(ContentType::CSV));
        let csv = r.into_string().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], header, "{path}");
        assert_eq!(lines.len(), count + 1, "{path}: {csv}");
        assert!(lines[1].starts_with(first), "{path}: {csv}");

        // The same rows as an Excel workbook.
        let r = app
            .client
            .get(format!("{path}?export_to=xlsx&filter={filter}&sort={sort}"))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Ok);
        assert_eq!(
            r.content_type().map(|c| c.to_string()),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into())
        );
        let disposition = r
            .headers()
            .get_one("Content-Disposition")
            .unwrap_or_default();
        assert!(disposition.ends_with(".xlsx\""), "{disposition}");
        let (strings, sheet) = xlsx_parts(r.into_bytes().await.unwrap());
        assert!(strings.contains(&format!(">{first}<")), "{path}: {strings}");
        assert!(strings.contains(&format!(">{}<", header.split(',').next().unwrap())));
        assert_eq!(sheet.matches("<row ").count(), count + 1, "{path}: {sheet}");
    }
    let page = body(app.browse("/groups").await).await;
    assert!(page.contains("href=\"/groups?export_to=xlsx\""), "{page}");
}

/// An xlsx file's shared strings and first sheet, as XML text.
fn xlsx_parts(bytes: Vec<u8>) -> (String, String) {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip file");
    let mut part = |name: &str| {
        let mut text = String::new();
        zip.by_name(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    (
        part("xl/sharedStrings.xml"),
        part("xl/worksheets/sheet1.xml"),
    )
}

on_sqlite_and_postgres!(exports_defuse_formulas);

/// A record whose name a spreadsheet would run as a formula exports as text
/// in CSV and Excel alike.
async fn exports_defuse_formulas<B: TestBackend>() {
    let Some(app) = app::<B>().await else { return };
    admin(&app).await;
    group_named(&app, "=HYPERLINK(\"http://evil.example\")").await;
    let csv = app
        .client
        .get("/groups?export_to=csv")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    let r = app.client.get("/groups?export_to=xlsx").dispatch().await;
    let (strings, sheet) = xlsx_parts(r.into_bytes().await.unwrap());
    assert!(strings.contains(">'=HYPERLINK("), "{strings}");
    assert!(!sheet.contains("<f>"), "no formula cell: {sheet}");
}

#[rocket::async_test]
async fn an_undeclared_token_in_an_apps_crud_view_stops_the_launch() {
    let (url, _cleanup) = <common::web::OnSqlite as TestBackend>::database()
        .await
        .unwrap();
    let view = kegauth::crud::CrudView::new("/colours", Colours)
        .actions(&[Action::List])
        .require(Action::List, "no-such-permission");
    let rocket = rocket_for::<common::web::SqliteDb>(&url, rocket::Config::figment(), |b| b)
        .mount("/app", view.routes());
    let err = rocket.ignite().await.expect_err("the launch stops");
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f.iter().any(|i| i.name == "kegauth")),
        "{err}"
    );
}
