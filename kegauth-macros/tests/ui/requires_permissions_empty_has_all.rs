use kegauth_macros::requires_permissions;

#[requires_permissions(has_any("permission1", has_all()))]
#[get("/x")]
fn handler() {}

fn main() {}
