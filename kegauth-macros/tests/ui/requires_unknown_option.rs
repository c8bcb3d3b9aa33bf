use kegauth_macros::{requires_permissions, requires_user};

#[requires_permissions("permission1", on_failure = handler)]
#[get("/x")]
fn one() {}

#[requires_user(on_authorization_failure = handler)]
#[get("/y")]
fn two() {}

#[requires_user(http_methods_excluded = ["OPTIONS", "FETCH"])]
#[get("/z")]
fn three() {}

fn main() {}
