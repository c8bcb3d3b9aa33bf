use kegauth_macros::requires_permissions;

#[requires_permissions(has_any("permission1", 42))]
#[get("/x")]
fn handler() {}

fn main() {}
