//! The entity/storage core, on SQLite, PostgreSQL and MySQL.

use crate::common::{Ctx, User, LEGACY_BCRYPT, LEGACY_PASSWORD, LEGACY_PBKDF2};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use kegauth::clock::ManualClock;
use kegauth::entity::{Bundle, Group};
use kegauth::prelude::*;
use kegauth::{Backend, Error};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

on_all_backends!(
    permissions_resolved_through_every_path,
    superuser_has_every_permission,
    sync_adds_removes_and_updates,
    sync_rejects_bad_declarations,
    concurrent_sync_from_two_instances,
    rights_changes_rotate_exactly_the_affected_users,
    is_active_truth_table,
    reenabling_clears_a_past_disabled_date,
    argon2_round_trip,
    legacy_hashes_verify_and_need_rehash,
    unique_values_are_conflicts_not_errors,
    unknown_ids_and_tokens_are_not_found,
    deleting_a_user_removes_its_memberships,
    lookups_ignore_oversized_input,
    extra_columns_round_trip,
    grids_sort_filter_and_page,
    a_referenced_user_or_group_is_not_deleted,
    create_user_refuses_what_the_admin_form_refuses,
);

fn set(tokens: &[&str]) -> BTreeSet<String> {
    tokens.iter().map(|t| t.to_string()).collect()
}

fn defs(tokens: &[&'static str]) -> Vec<PermissionDef> {
    tokens.iter().map(|t| PermissionDef::new(t, None)).collect()
}

async fn user<DB: Backend>(store: &Store<DB, User>, email: &str) -> User {
    let mut u = User::new(email);
    u.core.is_verified = true;
    store.insert_user(&mut u).await.expect("insert user");
    u
}

async fn group<DB: Backend>(store: &Store<DB, User>, name: &str) -> i64 {
    let mut g = Group {
        id: 0,
        name: name.into(),
    };
    store.insert_group(&mut g).await.expect("insert group");
    g.id
}

async fn bundle<DB: Backend>(store: &Store<DB, User>, name: &str) -> i64 {
    let mut b = Bundle {
        id: 0,
        name: name.into(),
    };
    store.insert_bundle(&mut b).await.expect("insert bundle");
    b.id
}

async fn ids<DB: Backend>(store: &Store<DB, User>, tokens: &[&str]) -> Vec<i64> {
    store.permission_ids(tokens).await.expect("permission ids")
}

async fn reload<DB: Backend>(store: &Store<DB, User>, id: i64) -> User {
    store
        .user(id)
        .await
        .expect("load user")
        .expect("user exists")
}

async fn permissions_resolved_through_every_path<DB: Backend>(ctx: Ctx<DB>) {
    let s = &ctx.store;
    let all = [
        "direct",
        "via-bundle",
        "via-group",
        "via-group-bundle",
        "unused",
    ];
    s.sync_permissions(&defs(&all)).await.unwrap();
    let ann = user(s, "ann@example.com").await;
    let bob = user(s, "bob@example.com").await;
    let (b1, b2) = (bundle(s, "b1").await, bundle(s, "b2").await);
    let g1 = group(s, "g1").await;

    s.set_links(Link::BundlePermissions, b1, &ids(s, &["via-bundle"]).await)
        .await
        .unwrap();
    s.set_links(
        Link::BundlePermissions,
        b2,
        &ids(s, &["via-group-bundle"]).await,
    )
    .await
    .unwrap();
    s.set_links(Link::GroupPermissions, g1, &ids(s, &["via-group"]).await)
        .await
        .unwrap();
    s.set_links(Link::GroupBundles, g1, &[b2]).await.unwrap();
    s.set_links(Link::UserPermissions, ann.id, &ids(s, &["direct"]).await)
        .await
        .unwrap();
    s.set_links(Link::UserBundles, ann.id, &[b1]).await.unwrap();
    s.add_link(Link::UserGroups, ann.id, g1).await.unwrap();

    assert_eq!(
        s.user_permissions(&ann).await.unwrap(),
        set(&["direct", "via-bundle", "via-group", "via-group-bundle"])
    );
    assert_eq!(s.user_permissions(&bob).await.unwrap(), set(&[]));
    assert_eq!(
        s.group_permissions(g1).await.unwrap(),
        set(&["via-group", "via-group-bundle"])
    );
    assert_eq!(
        s.bundle_permissions(b1).await.unwrap(),
        set(&["via-bundle"])
    );
    assert_eq!(
        s.linked_to(Link::UserGroups, g1).await.unwrap(),
        vec![ann.id]
    );

    // Each path alone, removed one at a time.
    s.remove_link(Link::UserGroups, ann.id, g1).await.unwrap();
    assert_eq!(
        s.user_permissions(&ann).await.unwrap(),
        set(&["direct", "via-bundle"])
    );
    s.set_links(Link::UserBundles, ann.id, &[]).await.unwrap();
    s.set_links(Link::UserPermissions, ann.id, &[])
        .await
        .unwrap();
    assert_eq!(s.user_permissions(&ann).await.unwrap(), set(&[]));
}

async fn superuser_has_every_permission<DB: Backend>(ctx: Ctx<DB>) {
    let s = &ctx.store;
    s.sync_permissions(&defs(&["a", "b", "c"])).await.unwrap();
    let mut root = user(s, "root@example.com").await;
    assert!(s.user_permissions(&root).await.unwrap().is_empty());
    root.core.is_superuser = true;
    s.update_user(&mut root).await.unwrap();
    let root = reload(s, root.id).await;
    assert!(root.core.is_superuser);
    assert_eq!(
        s.user_permissions(&root).await.unwrap(),
        set(&["a", "b", "c"])
    );
}

async fn sync_adds_removes_and_updates<DB: Backend>(ctx: Ctx<DB>) {
    let s = &ctx.store;
    let first = [
        PermissionDef::new("keep", Some("old text")),
        PermissionDef::new("drop", None),
        PermissionDef::new("plain", None),
    ];
    let r = s.sync_permissions(&first).await.unwrap();
    assert_eq!((r.added, r.updated, r.removed), (3, 0, 0));

    let second = [
        PermissionDef::new("keep", Some("new text")),
        PermissionDef::new("plain", None),
        PermissionDef::new("new", Some("brand new")),
    ];
    let r = s.sync_permissions(&second).await.unwrap();
    assert_eq!((r.added, r.updated, r.removed), (1, 1, 1));
    let table: BTreeMap<String, Option<String>> = s
        .permissions()
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.token, p.description))
        .collect();
    let expected: BTreeMap<String, Option<String>> = [
        ("keep", Some("new text")),
        ("new", Some("brand new")),
        ("plain", None),
    ]
    .into_iter()
    .map(|(t, d)| (t.to_string(), d.map(String::from)))
    .collect();
    assert_eq!(table, expected);

    // Idempotent.
    let r = s.sync_permissions(&second).await.unwrap();
    assert_eq!((r.added, r.updated, r.removed), (0, 0, 0));
    // A description can be cleared.
    let r = s
        .sync_permissions(&defs(&["keep", "plain", "new"]))
        .await
        .unwrap();
    assert_eq!((r.added, r.updated, r.removed), (0, 2, 0));
    assert_eq!(
        s.permission_by_token("keep")
            .await
            .unwrap()
            .unwrap()
            .description,
        None
    );
}

async fn sync_rejects_bad_declarations<DB: Backend>(ctx: Ctx<DB>) {
    let s = &ctx.store;
    let dup = s.sync_permissions(&defs(&["a", "b", "a"])).await;
    assert!(
        matches!(&dup, Err(Error::Config(m)) if m.contains("`a` is declared twice")),
        "{dup:?}"
    );
    let empty = s.sync_permissions(&defs(&["a", " "])).await;
    assert!(matches!(empty, Err(Error::Config(_))));
    // Nothing was written by the refused syncs.
    assert!(s.permissions().await.unwrap().is_empty());
}

async fn concurrent_sync_from_two_instances<DB: Backend>(ctx: Ctx<DB>) {
    let a: Store<DB, User> = Store::new(ctx.new_pool().await);
    let b: Store<DB, User> = Store::new(ctx.new_pool().await);
    for round in 0..5 {
        let tokens: Vec<PermissionDef> = (0..20)
            .map(|i| {
                let token: &'static str = Box::leak(format!("r{round}-p{i}").into_boxed_str());
                PermissionDef::new(token, Some("concurrent"))
            })
            .collect();
        let (ra, rb) = tokio::join!(a.sync_permissions(&tokens), b.sync_permissions(&tokens));
        let (ra, rb) = (ra.expect("instance a"), rb.expect("instance b"));
        assert_eq!(ra.added + rb.added, 20, "each token inserted exactly once");
        assert_eq!(ra.removed + rb.removed, if round == 0 { 0 } else { 20 });
        let stored: BTreeSet<String> = ctx.store.all_permission_tokens().await.unwrap();
        let declared: BTreeSet<String> = tokens.iter().map(|d| d.token.to_string()).collect();
        assert_eq!(stored, declared);
    }
}

/// Session keys of every user, by email.
async fn keys<DB: Backend>(s: &Store<DB, User>) -> BTreeMap<String, String> {
    s.users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.email, u.core.session_key))
        .collect()
}

/// Run `op` and assert that exactly `expected` users' session keys changed.
async fn expect_rotation<DB: Backend, F: std::future::Future<Output = ()>>(
    s: &Store<DB, User>,
    what: &str,
    expected: &[&str],
    op: F,
) {
    let before = keys(s).await;
    op.await;
    let after = keys(s).await;
    let changed: BTreeSet<&str> = before
        .iter()
        .filter(|(email, key)| after.get(*email).is_some_and(|k| k != *key))
        .map(|(email, _)| email.split('@').next().unwrap_or_default())
        .collect();
    let expected: BTreeSet<&str> = expected.iter().copied().collect();
    assert_eq!(changed, expected, "users whose key rotated after: {what}");
}

async fn rights_changes_rotate_exactly_the_affected_users<DB: Backend>(ctx: Ctx<DB>) {
    let s = &ctx.store;
    s.sync_permissions(&defs(&["p1", "p2", "p3"]))
        .await
        .unwrap();
    let mut ann = user(s, "ann@example.com").await;
    let mut bob = user(s, "bob@example.com").await;
    let mut cid = user(s, "cid@example.com").await;
    let mut dan = user(s, "dan@example.com").await;
    let _eve = user(s, "eve@example.com").await;
    let (g, g2) = (group(s, "g").await, group(s, "g2").await);
    let b = bundle(s, "b").await;
    let (p1, p2) = (ids(s, &["p1"]).await, ids(s, &["p2"]).await);

    expect_rotation(s, "ann joins g", &["ann"], async {
        assert!(s.add_link(Link::UserGroups, ann.id, g).await.unwrap());
    })
    .await;
    expect_rotation(s, "ann joins g again", &[], async {
        assert!(!s.add_link(Link::UserGroups, ann.id, g).await.unwrap());
    })
    .await;
    expect_rotation(s, "bob gets bundle b", &["bob"], async {
        s.set_links(Link::UserBundles, bob.id, &[b]).await.unwrap();
    })
    .await;
    expect_rotation(s, "cid joins g2", &["cid"], async {
        s.set_links(Link::UserGroups, cid.id, &[g2]).await.unwrap();
    })
    .await;
    expect_rotation(s, "g2 gets bundle b", &["cid"], async {
        s.set_links(Link::GroupBundles, g2, &[b]).await.unwrap();
    })
    .await;
    expect_rotation(s, "g gets p1", &["ann"], async {
        s.set_links(Link::GroupPermissions, g, &p1).await.unwrap();
    })
    .await;
    expect_rotation(s, "g gets p1 again (no change)", &[], async {
        assert!(!s.set_links(Link::GroupPermissions, g, &p1).await.unwrap());
    })
    .await;
    expect_rotation(s, "bundle b gets p2", &["bob", "cid"], async {
        s.set_links(Link::BundlePermissions, b, &p2).await.unwrap();
    })
    .await;
    expect_rotation(s, "dan gets p1 directly", &["dan"], async {
        s.set_links(Link::UserPermissions, dan.id, &p1)
            .await
            .unwrap();
    })
    .await;
    expect_rotation(s, "ann becomes superuser", &["ann"], async {
        ann.core.is_superuser = true;
        s.update_user(&mut ann).await.unwrap();
    })
    .await;
    expect_rotation(s, "bob is disabled", &["bob"], async {
        s.set_enabled(&mut bob, false).await.unwrap();
    })
    .await;
    expect_rotation(s, "cid gets a disabled date", &["cid"], async {
        cid.core.disabled_utc = Some(s.now() + TimeDelta::days(30));
        s.update_user(&mut cid).await.unwrap();
    })
    .await;
    expect_rotation(s, "dan's password changes", &["dan"], async {
        s.set_password(&mut dan, "a new password").await.unwrap();
    })
    .await;
    expect_rotation(s, "ann's name changes (not a rights change)", &[], async {
        ann = reload(s, ann.id).await;
        ann.name = Some("Ann".into());
        s.update_user(&mut ann).await.unwrap();
    })
    .await;
    expect_rotation(s, "group g is renamed (not a rights change)", &[], async {
        s.update_group(&Group {
            id: g,
            name: "renamed".into(),
        })
        .await
        .unwrap();
    })
    .await;
    expect_rotation(s, "p2 is no longer declared", &["bob", "cid"], async {
        let r = s.sync_permissions(&defs(&["p1", "p3"])).await.unwrap();
        assert_eq!(r.removed, 1);
    })
    .await;
    expect_rotation(s, "bundle b is deleted", &["bob", "cid"], async {
        s.delete_bundle(b).await.unwrap();
    })
    .await;
    expect_rotation(s, "group g is deleted", &["ann"], async {
        s.delete_group(g).await.unwrap();
    })
    .await;
    expect_rotation(s, "dan leaves a group he is not in", &[], async {
        assert!(!s.remove_link(Link::UserGroups, dan.id, g2).await.unwrap());
    })
    .await;
    // The in-memory entities carry the rotated key too.
    assert_eq!(
        reload(s, dan.id).await.core.session_key,
        dan.core.session_key
    );
    assert!(s
        .user_by_session_key(&dan.core.session_key)
        .await
        .unwrap()
        .is_some());
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

async fn is_active_truth_table<DB: Backend>(ctx: Ctx<DB>) {
    let now = at("2024-06-01 12:00:00");
    let clock = Arc::new(ManualClock::new(now));
    let s = ctx.store.clone().with_clock(clock.clone());
    let dates = [
        ("none", None, false),
        ("past", Some(now - TimeDelta::days(1)), true),
        ("now", Some(now), true),
        ("future", Some(now + TimeDelta::seconds(1)), false),
    ];
    let mut n = 0;
    for enabled in [true, false] {
        for verified in [true, false] {
            for (label, date, disabled_by_date) in dates {
                n += 1;
                let mut u = User::new(&format!("u{n}@example.com"));
                u.core.is_enabled = enabled;
                u.core.is_verified = verified;
                u.core.disabled_utc = date;
                s.insert_user(&mut u).await.unwrap();
                let u = reload(&s, u.id).await;
                let expected = enabled && verified && !disabled_by_date;
                assert_eq!(
                    s.is_active(&u),
                    expected,
                    "enabled={enabled} verified={verified} disabled_utc={label}"
                );
            }
        }
    }
    // A future date takes effect when the clock reaches it.
    let mut later = User::new("later@example.com");
    later.core.is_verified = true;
    later.core.disabled_utc = Some(now + TimeDelta::hours(1));
    s.insert_user(&mut later).await.unwrap();
    assert!(s.is_active(&reload(&s, later.id).await));
    clock.advance(TimeDelta::hours(1));
    assert!(!s.is_active(&reload(&s, later.id).await));
}

async fn reenabling_clears_a_past_disabled_date<DB: Backend>(ctx: Ctx<DB>) {
    let now = at("2024-06-01 12:00:00");
    let s = ctx
        .store
        .clone()
        .with_clock(Arc::new(ManualClock::new(now)));
    let mut past = User::new("past@example.com");
    past.core.is_verified = true;
    past.core.disabled_utc = Some(now - TimeDelta::days(2));
    s.insert_user(&mut past).await.unwrap();
    assert!(!s.is_active(&past));
    s.set_enabled(&mut past, true).await.unwrap();
    let past = reload(&s, past.id).await;
    assert_eq!(past.core.disabled_utc, None);
    assert!(s.is_active(&past));

    // A future date is a plan, not a past disablement: enabling keeps it.
    let mut future = User::new("future@example.com");
    future.core.is_verified = true;
    let planned = now + TimeDelta::days(2);
    future.core.disabled_utc = Some(planned);
    s.insert_user(&mut future).await.unwrap();
    s.set_enabled(&mut future, true).await.unwrap();
    assert_eq!(reload(&s, future.id).await.core.disabled_utc, Some(planned));

    // Disabling by flag and re-enabling.
    let mut flag = User::new("flag@example.com");
    flag.core.is_verified = true;
    s.insert_user(&mut flag).await.unwrap();
    s.set_enabled(&mut flag, false).await.unwrap();
    assert!(!s.is_active(&reload(&s, flag.id).await));
    s.set_enabled(&mut flag, true).await.unwrap();
    assert!(s.is_active(&reload(&s, flag.id).await));
}

async fn argon2_round_trip<DB: Backend>(ctx: Ctx<DB>) {
    let s = &ctx.store;
    let mut u = user(s, "hash@example.com").await;
    s.set_password(&mut u, "correct horse battery staple 🐎")
        .await
        .unwrap();
    let u = reload(s, u.id).await;
    let hash = u.core.password.clone().expect("a hash is stored");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "OWASP parameters: {hash}"
    );
    let ok = s
        .verify_password(&u, "correct horse battery staple 🐎")
        .await
        .unwrap();
    assert!(ok.ok && !ok.needs_rehash);
    for wrong in [
        "correct horse battery staple",
        "",
        "Correct horse battery staple 🐎",
    ] {
        assert!(!s.verify_password(&u, wrong).await.unwrap().ok, "{wrong:?}");
    }
    // No password: never verifies.
    let none = user(s, "nopass@example.com").await;
    assert!(!s.verify_password(&none, "").await.unwrap().ok);
    assert!(!s.verify_password(&none, "anything").await.unwrap().ok);
}

async fn legacy_hashes_verify_and_need_rehash<DB: Backend>(ctx: Ctx<DB>) {
    let s = &ctx.store;
    for (n, legacy) in [LEGACY_BCRYPT, LEGACY_PBKDF2].into_iter().enumerate() {
        let mut u = User::new(&format!("legacy{n}@example.com"));
        u.core.password = Some(legacy.to_string());
        s.insert_user(&mut u).await.unwrap();
        let mut u = reload(s, u.id).await;
        assert_eq!(
            u.core.password.as_deref(),
            Some(legacy),
            "stored as written"
        );
        let v = s.verify_password(&u, LEGACY_PASSWORD).await.unwrap();
        assert!(v.ok, "{legacy} verifies");
        assert!(v.needs_rehash, "{legacy} must be upgraded");
        assert!(!s.verify_password(&u, "wrong").await.unwrap().ok);
        // The upgrade: a new argon2id hash that no longer needs one.
        s.set_password(&mut u, LEGACY_PASSWORD).await.unwrap();
        let u = reload(s, u.id).await;
        let v = s.verify_password(&u, LEGACY_PASSWORD).await.unwrap();
        assert!(v.ok && !v.needs_rehash);
        assert!(u.core.password.unwrap().starts_with("$argon2id$"));
    }
}

async fn unique_values_are_conflicts_not_errors<DB: Backend>(ctx: Ctx<DB>) {
    let s = &ctx.store;
    user(s, "ann@example.com").await;
    for dup in ["ann@example.com", "ANN@Example.com", " ann@example.com "] {
        let mut again = User::new(dup);
        let err = s.insert_user(&mut again).await.unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{dup:?}: {err:?}");
        assert_eq!(err.status(), rocket::http::Status::Conflict);
    }
    let mut bob = user(s, "bob@example.com").await;
    bob.email = "Ann@example.com".into();
    assert!(matches!(
        s.update_user(&mut bob).await,
        Err(Error::Conflict(_))
    ));
    group(s, "admins").await;
    let mut g = Group {
        id: 0,
        name: "admins".into(),
    };
    let err = s.insert_group(&mut g).await.unwrap_err();
    assert!(
        matches!(&err, Error::Conflict(m) if m.contains("admins")),
        "{err:?}"
    );
    bundle(s, "reports").await;
    let mut b = Bundle {
        id: 0,
        name: "reports".into(),
    };
    assert!(matches!(
        s.insert_bundle(&mut b).await,
        Err(Error::Conflict(_))
    ));
    let mut empty = User::new("  ");
    assert!(matches!(
        s.insert_user(&mut empty).await,
        Err(Error::Invalid(_))
    ));
    // The failed inserts left nothing behind.
    assert_eq!(s.users().await.unwrap().len(), 2);
}

async fn unknown_ids_and_tokens_are_not_found<DB: Backend>(ctx: Ctx<DB>) {
    let s = &ctx.store;
    s.sync_permissions(&defs(&["known"])).await.unwrap();
    let err = s.permission_ids(&["known", "nope"]).await.unwrap_err();
    assert!(
        matches!(&err, Error::NotFound(m) if m.contains("`nope`")),
        "{err:?}"
    );
    let ann = user(s, "ann@example.com").await;
    let err = s
        .set_links(Link::UserPermissions, ann.id, &[9999])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    let err = s.add_link(Link::UserGroups, 9999, 1).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert!(matches!(
        s.delete_group(9999).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(s.delete_user(9999).await, Err(Error::NotFound(_))));
    let mut ghost = User::new("ghost@example.com");
    ghost.id = 9999;
    assert!(matches!(
        s.update_user(&mut ghost).await,
        Err(Error::NotFound(_))
    ));
    assert!(s.user(9999).await.unwrap().is_none());
    assert!(s
        .user_by_login("nobody@example.com")
        .await
        .unwrap()
        .is_none());
}

async fn deleting_a_user_removes_its_memberships<DB: Backend>(ctx: Ctx<DB>) {
    let s = &ctx.store;
    s.sync_permissions(&defs(&["p"])).await.unwrap();
    let ann = user(s, "ann@example.com").await;
    let g = group(s, "g").await;
    let b = bundle(s, "b").await;
    s.add_link(Link::UserGroups, ann.id, g).await.unwrap();
    s.add_link(Link::UserBundles, ann.id, b).await.unwrap();
    s.set_links(Link::UserPermissions, ann.id, &ids(s, &["p"]).await)
        .await
        .unwrap();
    s.delete_user(ann.id).await.unwrap();
    assert!(s.user(ann.id).await.unwrap().is_none());
    assert!(s.linked_to(Link::UserGroups, g).await.unwrap().is_empty());
    assert!(s.linked_to(Link::UserBundles, b).await.unwrap().is_empty());
    assert!(s
        .linked(Link::UserPermissions, ann.id)
        .await
        .unwrap()
        .is_empty());
    // The group and bundle themselves remain.
    assert!(s.group(g).await.unwrap().is_some());
    assert!(s.bundle(b).await.unwrap().is_some());
}

async fn lookups_ignore_oversized_input<DB: Backend>(ctx: Ctx<DB>) {
    let s = &ctx.store;
    user(s, "ann@example.com").await;
    let huge = "a".repeat(kegauth::store::MAX_LOOKUP_BYTES + 1);
    assert!(s.user_by_login(&huge).await.unwrap().is_none());
    assert!(s.user_by_session_key(&huge).await.unwrap().is_none());
    assert!(s.user_by_login("").await.unwrap().is_none());
    let mut u = User::new(&format!("{huge}@example.com"));
    assert!(matches!(
        s.insert_user(&mut u).await,
        Err(Error::Invalid(_))
    ));
}

/// `Store::create_user` checks the login id as the admin form and the CLI
/// do (issue 39): a refused one is `Error::Invalid` naming it, and no row is
/// written; white space around a good one is trimmed.
async fn create_user_refuses_what_the_admin_form_refuses<DB: Backend>(ctx: Ctx<DB>) {
    let s = &ctx.store;
    let long = format!(
        "{}@example.com",
        "a".repeat(kegauth::store::MAX_LOOKUP_BYTES)
    );
    let cases = [
        (
            "<script>alert(1)</script>@example.com",
            "is not a valid email address",
        ),
        ("not an address", "is not a valid email address"),
        ("ann\n@example.com", "control character"),
        ("   ", "is empty"),
        (long.as_str(), "longer than 1024 bytes"),
    ];
    for (login, reason) in cases {
        let mut u = User::new(login);
        match s.create_user(&mut u, false).await {
            Err(Error::Invalid(message)) => {
                assert!(message.contains(reason), "{login:?}: {message}")
            }
            other => panic!("{login:?} gave {other:?}"),
        }
        assert_eq!(u.id, 0, "{login:?}");
    }
    assert!(s.users().await.unwrap().is_empty(), "nothing was written");

    let mut ann = User::new("  ann@example.com ");
    s.create_user(&mut ann, false).await.unwrap();
    assert_eq!(reload(s, ann.id).await.email, "ann@example.com");
}

async fn extra_columns_round_trip<DB: Backend>(ctx: Ctx<DB>) {
    let s = &ctx.store;
    let mut u = User::new("Named@Example.com");
    u.name = Some("Zoë <b>".into());
    u.core.last_login_utc = Some(
        NaiveDate::from_ymd_opt(2024, 2, 29)
            .unwrap()
            .and_hms_micro_opt(23, 59, 58, 123_456)
            .unwrap(),
    );
    s.insert_user(&mut u).await.unwrap();
    assert!(u.id > 0);
    let back = s
        .user_by_login("named@example.com")
        .await
        .unwrap()
        .expect("found case-insensitively");
    assert_eq!(back.id, u.id);
    assert_eq!(back.email, "Named@Example.com");
    assert_eq!(back.name.as_deref(), Some("Zoë <b>"));
    assert_eq!(back.core, u.core);
}

async fn over_long_values_are_invalid_on_every_backend<DB: Backend>(ctx: Ctx<DB>) {
    let s = &ctx.store;
    // The email column is VARCHAR(255).
    let mut long = User::new(&format!("{}@example.com", "a".repeat(250)));
    let err = s.insert_user(&mut long).await.unwrap_err();
    assert!(
        matches!(&err, Error::Invalid(m) if m.contains("`email`")),
        "{err:?}"
    );
    assert_eq!(err.status(), rocket::http::Status::BadRequest);
    let mut fits = User::new(&format!("{}@example.com", "a".repeat(243)));
    assert_eq!(fits.email.chars().count(), 255);
    s.insert_user(&mut fits).await.unwrap();
    // Names of groups are VARCHAR(1024).
    let mut g = Group {
        id: 0,
        name: "g".repeat(1025),
    };
    assert!(matches!(
        s.insert_group(&mut g).await,
        Err(Error::Invalid(_))
    ));
    // An unbounded column still has the global cap.
    let mut big = User::new("big@example.com");
    big.name = Some("x".repeat(kegauth::store::MAX_VALUE_BYTES + 1));
    assert!(matches!(
        s.insert_user(&mut big).await,
        Err(Error::Invalid(_))
    ));
    assert_eq!(s.users().await.unwrap().len(), 1);
}

on_all_backends!(over_long_values_are_invalid_on_every_backend);

async fn grids_sort_filter_and_page<DB: Backend>(ctx: Ctx<DB>) {
    use kegauth::crud::GridQuery;
    let s = &ctx.store;
    for name in ["beta", "Alpha", "gamma", "al%pha", "al_x", "ALPHA two"] {
        group(s, name).await;
    }
    let names = |rows: Vec<Group>| rows.into_iter().map(|g| g.name).collect::<Vec<_>>();
    let query = |sort: Option<&str>, descending, filter: &str, page, per_page| GridQuery {
        sort: sort.map(str::to_string),
        descending,
        filter: filter.into(),
        page,
        per_page,
        ..Default::default()
    };
    // Case-insensitive filter; `%` and `_` are plain characters.
    let (rows, total) = s
        .grid::<Group>(&query(Some("name"), false, "alpha", 1, 25), &["name"])
        .await
        .unwrap();
    assert_eq!(total, 2);
    let mut got = names(rows);
    got.sort_by_key(|n| n.to_lowercase());
    assert_eq!(got, ["Alpha", "ALPHA two"]);
    for (filter, expect) in [("%", "al%pha"), ("_", "al_x")] {
        let (rows, total) = s
            .grid::<Group>(&query(None, false, filter, 1, 25), &["name"])
            .await
            .unwrap();
        assert_eq!(
            (names(rows), total),
            (vec![expect.to_string()], 1),
            "{filter}"
        );
    }
    // Pages of 4 in id order, then descending by name.
    let (rows, total) = s
        .grid::<Group>(&query(None, false, "", 2, 4), &["name"])
        .await
        .unwrap();
    assert_eq!(
        (names(rows), total),
        (vec!["al_x".into(), "ALPHA two".into()], 6)
    );
    let (rows, _) = s
        .grid::<Group>(&query(Some("name"), true, "", 1, 2), &["name"])
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].name, "gamma");
    // A name that is not a column sorts by id and is never sent as SQL.
    let (rows, _) = s
        .grid::<Group>(
            &query(Some("name; DROP TABLE groups"), false, "", 1, 1),
            &["name"],
        )
        .await
        .unwrap();
    assert_eq!(names(rows), ["beta"]);
}

async fn a_referenced_user_or_group_is_not_deleted<DB: Backend>(ctx: Ctx<DB>) {
    let s = &ctx.store;
    let ann = user(s, "ann@example.com").await;
    let staff = group(s, "staff").await;
    s.add_link(Link::UserGroups, ann.id, staff).await.unwrap();
    let mut conn = s.pool().acquire().await.unwrap();
    for sql in [
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), \
         group_id INTEGER REFERENCES groups(id))"
            .to_string(),
        format!(
            "INSERT INTO notes (id, user_id, group_id) VALUES (1, {}, {staff})",
            ann.id
        ),
    ] {
        DB::execute(&mut conn, &sql, Vec::new()).await.unwrap();
    }
    drop(conn);
    let err = s.delete_user(ann.id).await.unwrap_err();
    assert!(matches!(err, Error::Referenced(_)), "{err}");
    assert_eq!(err.status(), rocket::http::Status::Conflict);
    let err = s.delete_group(staff).await.unwrap_err();
    assert!(matches!(err, Error::Referenced(_)), "{err}");
    // Nothing was removed: not the rows, not the membership.
    assert!(s.user(ann.id).await.unwrap().is_some());
    assert!(s.group(staff).await.unwrap().is_some());
    assert_eq!(s.linked(Link::UserGroups, ann.id).await.unwrap(), [staff]);
}

/// A group table without keg-auth's timestamps (`timestamps = false`) that
/// keeps only an `updated_utc` column.
#[derive(Debug, kegauth::AuthEntity)]
#[auth(group, table = "teams", timestamps = false)]
struct Team {
    id: i64,
    name: String,
    updated_utc: Option<NaiveDateTime>,
}

/// The same for permissions.
#[derive(Debug, kegauth::AuthEntity)]
#[auth(permission, table = "perms", timestamps = false)]
struct Perm {
    id: i64,
    token: String,
    description: Option<String>,
    updated_utc: Option<NaiveDateTime>,
}

type Entities = kegauth::entity::Entities<User, Team, Bundle, Perm>;

/// Every write stamps `updated_utc`, also when the table has no `created_utc`
/// and the entity turns keg-auth's timestamps off.
#[tokio::test]
async fn an_updated_column_alone_is_stamped_on_update() {
    let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
    let start = at("2026-01-02 03:04:05");
    let clock = Arc::new(ManualClock::new(start));
    let s = Store::<sqlx::Sqlite, Entities>::new(pool).with_clock(clock.clone());
    s.create_schema().await.unwrap();
    let mut team = Team {
        id: 0,
        name: "red".into(),
        updated_utc: None,
    };
    s.insert_group(&mut team).await.unwrap();
    let read = s.group(team.id).await.unwrap().unwrap();
    assert_eq!(read.updated_utc, Some(start), "stamped on insert");

    clock.advance(TimeDelta::hours(1));
    team.name = "blue".into();
    s.update_group(&team).await.unwrap();
    let read = s.group(team.id).await.unwrap().unwrap();
    assert_eq!(read.name, "blue");
    assert_eq!(
        read.updated_utc,
        Some(start + TimeDelta::hours(1)),
        "stamped on update"
    );

    // A permission whose description changes in code is stamped by the sync.
    let perm = |text| PermissionDef::new("see-teams", Some(text));
    s.sync_permissions(&[perm("old")]).await.unwrap();
    clock.advance(TimeDelta::hours(1));
    s.sync_permissions(&[perm("new")]).await.unwrap();
    let read = s.permission_by_token("see-teams").await.unwrap().unwrap();
    assert_eq!(read.description.as_deref(), Some("new"));
    assert_eq!(
        read.updated_utc,
        Some(start + TimeDelta::hours(2)),
        "stamped by the sync"
    );
}
