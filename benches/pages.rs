//! What rendering kegauth's pages costs with each engine, in process
//! (Rocket's local client, no network), on SQLite:
//!
//! - `login/own-engine`: GET /login, rendered by kegauth's own MiniJinja
//!   environment (no `Template` fairing);
//! - `login/rocket_dyn_templates`: the same page through the app's
//!   rocket_dyn_templates engine (`kegauth::dyn_templates::fairing()`);
//! - `app-page/layout-guard`: an app page through `Layout::render` (kegauth's
//!   menus, flashes and language added), and `app-page/template`: the same
//!   template through plain `Template::render`.
//!
//! Both apps extend the same layout (`base_template = "layout"`). The
//! release build has no template hot reload, as in production.
//! Run: `cargo bench -p kegauth-benches --bench pages`.

use criterion::{criterion_group, criterion_main, Criterion};
use kegauth::dyn_templates::{Layout, LayoutPage};
use kegauth::prelude::*;
use rocket::local::asynchronous::Client;
use rocket::{get, routes};
use rocket_db_pools::Database;
use rocket_dyn_templates::{context, Template};

mod common;
use common::{SqliteDb, User};

#[get("/page")]
fn page(layout: Layout<'_>) -> kegauth::Result<LayoutPage> {
    layout.render("page", "Page", context! { text: "hello" })
}

#[get("/plain")]
fn plain() -> Template {
    Template::render("page", context! { page_title: "Page", text: "hello" })
}

fn templates() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kegauth-bench-tpl-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("layout.html.j2"),
        r#"<!doctype html><html lang="{{ lang }}"><head><title>{% block title %}{{ page_title }}{% endblock %}</title></head>
<body><header>My App</header>{% block flashes %}{% include "kegauth/flash-messages.html" %}{% endblock %}
<main>{% block content %}{% endblock %}</main></body></html>"#,
    )
    .expect("layout");
    std::fs::write(
        dir.join("page.html.j2"),
        r#"{% extends "layout" %}{% block content %}<p>{{ text }}</p>{% endblock %}"#,
    )
    .expect("page");
    dir
}

async fn client(db: &str, dir: &std::path::Path, shared: bool) -> Client {
    let figment = common::figment(db)
        .merge(("template_dir", dir.display().to_string()))
        .merge(("kegauth.base_template", "layout"));
    let mut rocket = rocket::build().configure(figment).attach(SqliteDb::init());
    if shared {
        rocket = rocket.attach(kegauth::dyn_templates::fairing());
    }
    let rocket = rocket
        .attach(
            AuthManager::<SqliteDb, User>::builder()
                .create_schema(true)
                .build(),
        )
        .mount("/", kegauth::routes())
        .register("/", kegauth::catchers());
    let rocket = if shared {
        rocket.mount("/", routes![page, plain])
    } else {
        rocket
    };
    Client::untracked(rocket).await.expect("launch")
}

async fn get(client: &Client, path: &str) -> usize {
    let r = client.get(path.to_string()).dispatch().await;
    assert_eq!(r.status().code, 200, "{path}");
    r.into_bytes().await.map_or(0, |b| b.len())
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = templates();
    let db = std::env::temp_dir().join(format!("kegauth-bench-{:x}.sqlite", rand::random::<u64>()));
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let own = rt.block_on(client(&url, &dir, false));
    let shared = rt.block_on(client(&url, &dir, true));
    for (name, client) in [("own", &own), ("shared", &shared)] {
        eprintln!(
            "GET /login ({name}): {} bytes",
            rt.block_on(get(client, "/login"))
        );
    }
    let mut group = c.benchmark_group("login");
    group.bench_function("own-engine", |b| {
        b.to_async(&rt).iter(|| get(&own, "/login"))
    });
    group.bench_function("rocket_dyn_templates", |b| {
        b.to_async(&rt).iter(|| get(&shared, "/login"))
    });
    group.finish();
    let mut group = c.benchmark_group("app-page");
    group.bench_function("layout-guard", |b| {
        b.to_async(&rt).iter(|| get(&shared, "/page"))
    });
    group.bench_function("template", |b| {
        b.to_async(&rt).iter(|| get(&shared, "/plain"))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

criterion_group! {
    name = group;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(group);
