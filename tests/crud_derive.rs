//! `#[derive(Crud)]`: the demo's `Project` table with kegauth's grid and
//! forms, on SQLite, PostgreSQL and MySQL: sorting, filtering, pages and
//! exports; add, edit and delete; validation; each action's requirement;
//! SQL and markup in values; audit rows.

use crate::common::demo::Project;
use crate::common::web::{app_configured, body, location, App, TestBackend};
use kegauth::audit::{AuditFilter, Subject};
use kegauth::Backend;
use rocket::http::{Accept, Status};

on_three_backends!(
    a_referenced_record_is_not_deleted,
    the_grid_sorts_filters_pages_and_exports,
    add_edit_and_delete_through_the_forms,
    each_action_has_its_requirement,
    sql_and_markup_in_values_are_harmless,
);

fn mount_projects(rocket: rocket::Rocket<rocket::Build>) -> rocket::Rocket<rocket::Build> {
    rocket.mount("/", Project::crud().routes())
}

/// The test app with the projects' pages and table.
async fn projects_app<B: TestBackend>() -> Option<App<<B::Db as kegauth::AuthDb>::Backend>> {
    let app = app_configured::<B>(rocket::Config::figment(), |b| b, mount_projects).await?;
    app.store
        .create_record_table::<Project>()
        .await
        .expect("the projects table");
    Some(app)
}

async fn page<DB: Backend>(app: &App<DB>, path: &str) -> (Status, String) {
    let r = app.browse(path).await;
    (r.status(), body(r).await)
}

/// Add a project through the form.
async fn add<DB: Backend>(app: &App<DB>, name: &str, status: &str, due: &str, active: bool) {
    let mut fields = vec![("name", name), ("status", status), ("due", due)];
    if active {
        fields.push(("active", "true"));
    }
    let r = app.submit("/projects/add", &fields).await;
    assert_eq!(r.status(), Status::SeeOther, "{name}: {}", body(r).await);
}

/// The id in the first edit link of a grid page.
fn first_id(html: &str) -> i64 {
    html.split("href=\"/projects/")
        .skip(1)
        .find_map(|rest| {
            rest.split_once("/edit\"")
                .and_then(|(id, _)| id.parse().ok())
        })
        .unwrap_or_else(|| panic!("an edit link: {html}"))
}

/// The project names in a grid page, in order.
fn names_in(html: &str) -> Vec<String> {
    html.split("<tr")
        .skip(2)
        .filter_map(|row| row.split("<td>").nth(1))
        .map(|cell| cell.split("</td>").next().unwrap_or("").trim().to_string())
        .collect()
}

async fn the_grid_sorts_filters_pages_and_exports<B: TestBackend>() {
    let Some(app) = projects_app::<B>().await else {
        return;
    };
    app.login_with("pm@example.com", &["projects-view", "projects-edit"])
        .await;
    add(&app, "Bridge", "running", "2027-03-01", true).await;
    add(&app, "Canal", "planned", "", false).await;
    add(&app, "Aqueduct", "done", "2026-01-15", true).await;
    add(&app, "Big bridge", "planned", "2027-01-01", false).await;

    let (status, html) = page(&app, "/projects?sort=name").await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("<h1>Projects</h1>"), "{html}");
    assert_eq!(
        names_in(&html),
        ["Aqueduct", "Big bridge", "Bridge", "Canal"]
    );
    // The select shows its choice's label; the flag yes or no.
    assert!(
        html.contains("<td>Running</td>") && html.contains("<td>Yes</td>"),
        "{html}"
    );
    let (_, html) = page(&app, "/projects?sort=-due").await;
    // Descending, the project without a date last.
    assert_eq!(
        names_in(&html),
        ["Bridge", "Big bridge", "Aqueduct", "Canal"]
    );
    let (_, html) = page(&app, "/projects?filter=BRIDGE&sort=name").await;
    assert_eq!(names_in(&html), ["Big bridge", "Bridge"]);
    // A column that is not sortable is ignored, never an error.
    let (status, html) = page(&app, "/projects?sort=active").await;
    assert_eq!(status, Status::Ok);
    assert_eq!(names_in(&html).len(), 4);

    // Pages of 25: 30 rows make two.
    for i in 0..26 {
        let name = format!("Extra {i:02}");
        add(&app, &name, "planned", "", i % 2 == 0).await;
    }
    let (_, html) = page(&app, "/projects?sort=name&page=2").await;
    assert_eq!(names_in(&html).len(), 5, "{html}");
    assert!(html.contains("Page 2 of 2 (30 total)"), "{html}");

    let r = app
        .browse("/projects?export_to=csv&filter=bridge&sort=name")
        .await;
    assert_eq!(r.status(), Status::Ok);
    let csv = body(r).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "Name,Status,Due date,Active", "{csv}");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].starts_with("Big bridge,Planned,2027-01-01,"),
        "{csv}"
    );
    let r = app.browse("/projects?export_to=xlsx").await;
    assert_eq!(r.status(), Status::Ok);
    let bytes = r.into_bytes().await.expect("a body");
    assert!(bytes.starts_with(b"PK"), "an xlsx (zip) file");
}

async fn add_edit_and_delete_through_the_forms<B: TestBackend>() {
    let Some(app) = projects_app::<B>().await else {
        return;
    };
    let pm = app
        .login_with("pm@example.com", &["projects-view", "projects-edit"])
        .await;
    let (status, html) = page(&app, "/projects/add").await;
    assert_eq!(status, Status::Ok);
    assert!(
        html.contains(r#"<select id="status" name="status">"#),
        "{html}"
    );
    assert!(html.contains(r#"type="date""#) && html.contains(r#"type="checkbox""#));
    assert!(html.contains(r#"maxlength="100""#), "{html}");
    // The demo's default (`CrudRules::blank`): a new project is active.
    assert!(
        html.contains(r#"name="active" value="true" checked"#),
        "{html}"
    );

    // Validation: each problem under its field, nothing saved.
    let long = "x".repeat(101);
    for (fields, message) in [
        (
            vec![("name", ""), ("status", "planned")],
            "This field is required.",
        ),
        (
            vec![("name", long.as_str()), ("status", "planned")],
            "At most 100 characters.",
        ),
        (
            vec![("name", "Dam"), ("status", "paused")],
            "`paused` is not a valid choice.",
        ),
        (
            vec![("name", "Dam"), ("status", "planned"), ("due", "next week")],
            "`next week` is not a date (YYYY-MM-DD).",
        ),
        // The demo's own rule (`CrudRules::validate`).
        (
            vec![("name", "Dam"), ("status", "done"), ("due", "")],
            "A project that is done has a due date.",
        ),
    ] {
        let r = app.submit("/projects/add", &fields).await;
        assert_eq!(r.status(), Status::Ok, "the form again: {fields:?}");
        let html = body(r).await;
        assert!(html.contains(message), "{message}: {html}");
    }
    let (_, html) = page(&app, "/projects").await;
    assert!(names_in(&html).is_empty(), "{html}");

    add(&app, "Dam", "running", "2027-05-01", true).await;
    let (_, html) = page(&app, "/projects").await;
    let id = first_id(&html);
    let (status, html) = page(&app, &format!("/projects/{id}/edit")).await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains(r#"value="Dam""#) && html.contains(r#"value="2027-05-01""#));
    assert!(
        html.contains(r#"<option value="running" selected>Running</option>"#),
        "{html}"
    );

    // Edit: the checkbox left out is false, the date emptied is NULL.
    let r = app
        .submit(
            &format!("/projects/{id}/edit"),
            &[("name", "Dam II"), ("status", "running"), ("due", "")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(location(&r), "/projects");
    let (_, html) = page(&app, "/projects").await;
    assert!(html.contains("Successfully modified Project"), "{html}");
    assert!(
        html.contains("<td>Dam II</td>")
            && html.contains("<td>Running</td>")
            && html.contains("<td>No</td>")
    );

    // Delete: the confirmation names it, the POST removes it.
    let (status, html) = page(&app, &format!("/projects/{id}/delete")).await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("Dam II"), "{html}");
    let r = app.submit(&format!("/projects/{id}/delete"), &[]).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(
        app.status(&format!("/projects/{id}/edit")).await,
        Status::NotFound
    );
    assert_eq!(app.status("/projects/999999/edit").await, Status::NotFound);

    // The audit trail: the add, the edit with the fields changed, the delete.
    app.flush_audit().await;
    let events = app
        .store
        .audit_events(&AuditFilter::default().user(pm.id))
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.event.kind.as_str()).collect();
    for kind in ["admin-create", "admin-edit", "admin-delete"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    let edit = events
        .iter()
        .find(|e| e.event.kind == "admin-edit")
        .expect("the edit");
    let changed = edit.event.detail["changed"].to_string();
    assert!(
        changed.contains("Dam II") && changed.contains("name"),
        "{changed}"
    );
    assert_eq!(edit.event.detail["view"], "/projects");
    assert!(edit.event.subject.is_none() || !matches!(edit.event.subject, Some(Subject::User(_))));
}

async fn each_action_has_its_requirement<B: TestBackend>() {
    let Some(app) = projects_app::<B>().await else {
        return;
    };
    // Anonymous: the login page.
    let r = app.browse("/projects").await;
    assert_eq!(r.status(), Status::Found);
    assert!(location(&r).starts_with("/login?next="), "{}", location(&r));
    app.login_with("nobody@example.com", &["permission1"]).await;
    assert_eq!(app.status("/projects").await, Status::Forbidden);
    app.login_with("viewer@example.com", &["projects-view"])
        .await;
    let (status, html) = page(&app, "/projects").await;
    assert_eq!(status, Status::Ok);
    assert!(!html.contains("Create Project"), "{html}");
    assert_eq!(app.status("/projects/add").await, Status::Forbidden);
    let r = app
        .submit(
            "/projects/add",
            &[("name", "Sneaky"), ("status", "planned")],
        )
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    app.login_with("editor@example.com", &["projects-view", "projects-edit"])
        .await;
    let (_, html) = page(&app, "/projects").await;
    assert!(html.contains("Create Project"), "{html}");
    assert!(names_in(&html).is_empty(), "nothing was added: {html}");
    // JSON clients get JSON statuses, not pages.
    app.login_with("viewer2@example.com", &["projects-view"])
        .await;
    let r = app
        .client
        .get("/projects/add")
        .header(Accept::JSON)
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Forbidden);
}

/// A page as sent (`body` decodes HTML entities for easier reading).
async fn raw<DB: Backend>(app: &App<DB>, path: &str) -> String {
    app.browse(path)
        .await
        .into_string()
        .await
        .unwrap_or_default()
}

async fn sql_and_markup_in_values_are_harmless<B: TestBackend>() {
    let Some(app) = projects_app::<B>().await else {
        return;
    };
    app.login_with("pm@example.com", &["projects-view", "projects-edit"])
        .await;
    let evil = "<script>alert(1)</script>'; DROP TABLE projects; --";
    add(&app, evil, "planned", "", false).await;
    add(&app, "=cmd|' /C calc'!A0", "planned", "", false).await;
    for path in [
        "/projects?sort=name;DROP%20TABLE%20projects&filter=%27%20OR%201=1%20--",
        "/projects?sort=-name%20DESC,(SELECT%201)&filter=%25",
        "/projects?filter=_",
    ] {
        assert_eq!(app.status(path).await, Status::Ok, "{path}");
        let html = raw(&app, path).await;
        assert!(!html.contains("<script>alert(1)"), "{path}: {html}");
    }
    // `%` and `_` are taken literally: no row holds them.
    let (_, html) = page(&app, "/projects?filter=%25").await;
    assert!(names_in(&html).is_empty(), "{html}");
    let (_, html) = page(&app, "/projects?sort=name").await;
    assert_eq!(names_in(&html).len(), 2, "the table is still there: {html}");
    let id = first_id(&html);
    let html = raw(&app, "/projects?sort=name").await;
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{html}"
    );
    for path in [
        format!("/projects/{id}/edit"),
        format!("/projects/{id}/delete"),
    ] {
        let html = raw(&app, &path).await;
        assert!(html.contains("&lt;script&gt;"), "{path}: {html}");
        assert!(!html.contains("<script>alert(1)"), "{path}: {html}");
    }
    // The export defuses formulas and keeps the text as text.
    let csv = body(app.browse("/projects?export_to=csv&sort=name").await).await;
    assert!(csv.contains("'=cmd|"), "{csv}");
}

async fn a_referenced_record_is_not_deleted<B: TestBackend>() {
    let Some(app) = projects_app::<B>().await else {
        return;
    };
    app.login_with("pm@example.com", &["projects-view", "projects-edit"])
        .await;
    add(&app, "Harbour", "planned", "", true).await;
    let id = first_id(&page(&app, "/projects").await.1);
    // Another table of the app refers to the project.
    let pool = app.store.pool().clone();
    let mut conn = pool.acquire().await.expect("a connection");
    for sql in [
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, \
         FOREIGN KEY (project_id) REFERENCES projects (id))"
            .to_string(),
        format!("INSERT INTO tasks (id, project_id) VALUES (1, {id})"),
    ] {
        <B::Db as kegauth::AuthDb>::Backend::execute(&mut conn, &sql, Vec::new())
            .await
            .expect(&sql);
    }
    drop(conn);
    let r = app.submit(&format!("/projects/{id}/delete"), &[]).await;
    assert_eq!(r.status(), Status::SeeOther);
    let (_, html) = page(&app, "/projects").await;
    assert!(
        html.contains("Unable to delete Harbour. It may be referenced by other items."),
        "{html}"
    );
    assert_eq!(
        app.status(&format!("/projects/{id}/edit")).await,
        Status::Ok,
        "still there"
    );
}

/// A requirement naming a permission the app never declared stops the launch.
#[rocket::async_test]
async fn an_undeclared_record_requirement_stops_the_launch() {
    #[derive(kegauth::Crud, Default)]
    #[crud(table = "gadgets", require(list = "no-such-permission"))]
    struct Gadget {
        id: i64,
        #[crud(list, label, form)]
        name: String,
    }
    let (url, _cleanup) = <crate::common::web::OnSqlite as TestBackend>::database()
        .await
        .expect("SQLite");
    let rocket = crate::common::web::rocket_for::<crate::common::web::SqliteDb>(
        &url,
        rocket::Config::figment(),
        |b| b,
    )
    .mount("/", Gadget::crud().routes());
    let err = rocket.ignite().await.expect_err("the launch stops");
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f.iter().any(|i| i.name == "kegauth")),
        "{err}"
    );
}
